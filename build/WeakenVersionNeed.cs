using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

// Marks one symbol-version requirement of an ELF64 shared library as weak (VER_FLG_WEAK) so the
// dynamic loader accepts a system library that lacks that version. TorchSharp 0.107.0's
// libLibTorchSharp.so asks for GLIBCXX_3.4.32 for a single never-called symbol, which Debian 12's
// libstdc++ does not define; without this the library fails to load.
public class WeakenVersionNeed : Task
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    [Required] public string Library { get; set; } = "";
    [Required] public string Version { get; set; } = "";
    /// <summary>Candidate paths of the system library that should provide <see cref="Version"/>.</summary>
    public string[] Providers { get; set; } = Array.Empty<string>();

    public override bool Execute()
    {
        if (!File.Exists(Library)) return true;
        foreach (var provider in Providers)
            if (File.Exists(provider) && Contains(File.ReadAllBytes(provider), Encoding.ASCII.GetBytes(Version + "\0")))
                return true; // the requirement is met: leave the library untouched

        byte[] elf = File.ReadAllBytes(Library);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2 || elf[5] != 1)
        {
            Log.LogWarning($"{Library} is not a little-endian ELF64 file; not patched.");
            return true;
        }
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int s = 0; s < shnum; s++)
        {
            long sh = shoff + (long)s * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
            long offset = BitConverter.ToInt64(elf, (int)sh + 24);
            int link = (int)BitConverter.ToUInt32(elf, (int)sh + 40);
            int count = (int)BitConverter.ToUInt32(elf, (int)sh + 44);
            long strtab = BitConverter.ToInt64(elf, (int)(shoff + (long)link * shentsize + 24));
            return PatchVerneed(elf, offset, count, strtab);
        }
        Log.LogMessage(MessageImportance.Low, $"{Library} has no version requirements.");
        return true;
    }

    bool PatchVerneed(byte[] elf, long verneed, int count, long strtab)
    {
        for (int i = 0; i < count; i++)
        {
            int auxCount = BitConverter.ToUInt16(elf, (int)verneed + 2);
            long aux = verneed + BitConverter.ToUInt32(elf, (int)verneed + 8);
            for (int j = 0; j < auxCount; j++)
            {
                int flagsAt = (int)aux + 4;
                string name = ReadString(elf, strtab + BitConverter.ToUInt32(elf, (int)aux + 8));
                if (name == Version)
                {
                    ushort flags = BitConverter.ToUInt16(elf, flagsAt);
                    if ((flags & VerFlgWeak) != 0) return true; // already patched
                    BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, flagsAt);
                    string temp = Library + ".weakening";
                    File.WriteAllBytes(temp, elf);
                    File.Delete(Library); // a new inode: processes that have the old file mapped keep it intact
                    File.Move(temp, Library);
                    Log.LogMessage(MessageImportance.High, $"Marked {Version} weak in {Library} (system libstdc++ lacks it).");
                    return true;
                }
                aux += BitConverter.ToUInt32(elf, (int)aux + 12);
            }
            verneed += BitConverter.ToUInt32(elf, (int)verneed + 12);
        }
        return true;
    }

    static string ReadString(byte[] data, long at)
    {
        int end = Array.IndexOf(data, (byte)0, (int)at);
        return Encoding.ASCII.GetString(data, (int)at, end - (int)at);
    }

    static bool Contains(byte[] haystack, byte[] needle)
    {
        // The task compiles against netstandard2.0, so no span search: a plain scan on the first byte.
        for (int i = Array.IndexOf(haystack, needle[0]); i >= 0 && i <= haystack.Length - needle.Length;
             i = Array.IndexOf(haystack, needle[0], i + 1))
        {
            int k = 1;
            while (k < needle.Length && haystack[i + k] == needle[k]) k++;
            if (k == needle.Length) return true;
        }
        return false;
    }
}
