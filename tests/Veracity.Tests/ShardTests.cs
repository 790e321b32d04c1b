using System.Text.Json;
using Veracity.Data;
using Veracity.Inference;

namespace Veracity.Tests;

public class ShardTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    [Fact]
    public void A_name_hashes_to_the_first_8_bytes_of_its_SHA256_modulo_the_shard_count()
    {
        // FIPS 180-2, appendix B.1: SHA-256("abc") begins ba7816bf8f01cfea.
        const ulong abc = 0xba7816bf8f01cfea;
        foreach (int count in new[] { 1, 4, 7, 1000 })
            Assert.Equal((int)(abc % (ulong)count), Shard.Of("abc", count));
        Assert.Equal(new Shard(3, 4), Shard.Parse("3/4"));
        Assert.All(new[] { "4/4", "-1/4", "1/0", "1", "a/b", "1/2/3", " 1/4" }, text => Assert.Null(Shard.Parse(text)));
    }

    [Fact]
    public void Four_shards_merged_equal_one_run_byte_for_byte()
    {
        using var dir = new TempDir();
        string images = tiny.Data.TrainImages;
        // The folder's sorted order, and a list's own order with a missing picture left out.
        string list = dir.File("list.txt", "img_name\n" + string.Join("\n", Prediction.ListImages(images).Reverse().Append("gone.jpg")) + "\n");
        foreach (var (what, input) in new[] { ("folder", Array.Empty<string>()), ("list", new[] { "--list", list, "--on-error", "skip" }) })
        {
            string whole = Path.Combine(dir.Path, $"{what}-whole.csv");
            Predict([.. input, "--out", whole]);
            var parts = Enumerable.Range(0, 4).Select(i => Path.Combine(dir.Path, $"{what}-part-{i}.csv")).ToList();
            foreach (var (part, i) in parts.Select((part, i) => (part, i)))
                Predict([.. input, "--shard", $"{i}/4", "--out", part]);
            string merged = Path.Combine(dir.Path, $"{what}-merged.csv");
            var merge = Cli.Run(["merge", .. parts.AsEnumerable().Reverse(), "--out", merged]);
            Assert.True(merge.ExitCode == 0, merge.All);

            Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(merged));
            var manifests = parts.Select(part => JsonDocument.Parse(File.ReadAllText(ShardManifest.PathFor(part))).RootElement).ToList();
            int names = what == "list" ? Prediction.ListImages(images).Count + 1 : Prediction.ListImages(images).Count;
            Assert.Equal(names, manifests.Sum(m => m.GetProperty("names").GetInt32()));
            Assert.Equal(what == "list" ? 1 : 0, manifests.Sum(m => m.GetProperty("failures").GetInt32()));
            Assert.Equal(LabelFile.ReadNames(whole).Count, manifests.Sum(m => m.GetProperty("rows").GetInt32()));
        }

        void Predict(string[] options)
        {
            var run = Cli.Run(["predict", "--model", tiny.Checkpoint, "--images", images, .. options]);
            Assert.True(run.ExitCode == 0, run.All);
        }
    }

    [Fact]
    public void A_missing_repeated_or_mismatched_part_is_refused_naming_it()
    {
        using var dir = new TempDir();
        string Part(string name, params string[] options)
        {
            string part = Path.Combine(dir.Path, name);
            var run = Cli.Run(["predict", "--model", tiny.Checkpoint, "--images", tiny.ValImages, "--out", part, .. options]);
            Assert.True(run.ExitCode == 0, run.All);
            return part;
        }
        var parts = Enumerable.Range(0, 4).Select(i => Part($"part-{i}.csv", "--shard", $"{i}/4")).ToList();
        string otherViews = Part("part-2-tta2.csv", "--shard", "2/4", "--tta", "2");
        string again = Path.Combine(dir.Path, "part-1-again.csv");
        File.Copy(parts[1], again);
        File.Copy(ShardManifest.PathFor(parts[1]), ShardManifest.PathFor(again));
        string bare = dir.File("bare.csv", File.ReadAllText(parts[0]));
        string merged = Path.Combine(dir.Path, "merged.csv");

        void Refused(string[] given, string expected)
        {
            var merge = Cli.Run(["merge", .. given, "--out", merged]);
            Assert.Equal(2, merge.ExitCode);
            Assert.Contains(expected, merge.Unwrapped);
            Assert.False(File.Exists(merged), "nothing is written when a part is refused");
        }
        Refused([parts[0], parts[1], parts[2]], $"shard 3/4 is missing: the parts given are shards 0 ({parts[0]}), 1 ({parts[1]}), 2 ({parts[2]})");
        Refused([.. parts, again], $"{again}: shard 1/4 is given twice: {parts[1]} is shard 1/4 too");
        Refused([parts[0], parts[1], otherViews, parts[3]], $"{otherViews}: scored with model 1's TTA views 2, where {parts[0]} has 1");
        Refused([.. parts, bare], $"{bare}: no manifest bare.csv.shard.json beside it");

        var bad = Cli.Run("predict", "--model", tiny.Checkpoint, "--images", tiny.ValImages, "--shard", "4/4");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--shard must be I/N, shard I of N counted from 0 (0/4 to 3/4), not '4/4'", bad.Unwrapped);
    }
}
