using System.Security.Cryptography;
using Veracity.Data;
using Veracity.Imaging;
using Veracity.Synth;

namespace Veracity.Tests;

public class SynthTests
{
    static Dictionary<string, string> Hashes(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public void Same_seed_gives_identical_files_and_another_seed_does_not()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        using var c = new TempDir();
        SyntheticDataset.Generate(new SynthOptions(a.Path, Count: 20, Size: 48, Seed: 5));
        SyntheticDataset.Generate(new SynthOptions(b.Path, Count: 20, Size: 48, Seed: 5));
        SyntheticDataset.Generate(new SynthOptions(c.Path, Count: 20, Size: 48, Seed: 6));
        Assert.Equal(Hashes(a.Path), Hashes(b.Path));
        Assert.NotEqual(Hashes(a.Path).Keys.Order(), Hashes(c.Path).Keys.Order());
    }

    [Fact]
    public void Writes_the_competition_layout_with_balanced_classes_and_each_manipulation_as_the_source()
    {
        using var dir = new TempDir();
        var summary = SyntheticDataset.Generate(new SynthOptions(dir.Path, Count: 40, Size: 64, Seed: 1, ValFraction: 0.25));
        Assert.Equal((30, 10, 20), (summary.Train, summary.Val, summary.Fakes));

        int fakes = 0;
        foreach (string split in new[] { "trainset", "valset" })
        {
            var rows = LabelFile.ReadLabels(Path.Combine(dir.Path, $"{split}_label.txt"));
            Assert.Equal(split == "trainset" ? 30 : 10, rows.Count);
            Assert.Equal(rows.Count, Directory.GetFiles(Path.Combine(dir.Path, split)).Length);
            foreach (var row in rows)
            {
                if (row.Target == 0) Assert.Equal(SyntheticDataset.RealSource, row.Source);
                else Assert.Contains(row.Source, Manipulations.All);
                var image = new ImageDecoder().Decode(Path.Combine(dir.Path, split, row.Name));
                Assert.Equal((64, 64), (image.Width, image.Height));
            }
            fakes += rows.Count(r => r.Target == 1);
        }
        Assert.Equal(20, fakes);
        Assert.Contains("\"synthetic\": true", File.ReadAllText(Path.Combine(dir.Path, "synth.json")));
    }

    [Fact]
    public void Only_the_chosen_manipulations_are_used()
    {
        using var dir = new TempDir();
        var summary = SyntheticDataset.Generate(new SynthOptions(dir.Path, Count: 16, Size: 48, Seed: 2,
            ManipulationKinds: [Manipulations.Splice, Manipulations.DoubleJpeg]));
        Assert.Equal([Manipulations.DoubleJpeg, Manipulations.None, Manipulations.Splice], summary.ByManipulation.Keys.Order());
        Assert.Throws<VeracityException>(() => SyntheticDataset.Generate(new SynthOptions(dir.Path, Count: 4, ManipulationKinds: ["blur"])));
    }

    [Theory]
    [InlineData(Manipulations.Splice)]
    [InlineData(Manipulations.Resample)]
    [InlineData(Manipulations.Checkerboard)]
    [InlineData(Manipulations.Colour)]
    [InlineData(Manipulations.DoubleJpeg)]
    public void Each_manipulation_changes_the_image(string kind)
    {
        var real = SceneRenderer.Render(64, new Random(3));
        var fake = new RgbImage(64, 64, (byte[])real.Pixels.Clone());
        Manipulations.Apply(kind, fake, new Random(4));
        int changed = real.Pixels.Zip(fake.Pixels).Count(p => Math.Abs(p.First - p.Second) > 2);
        Assert.True(changed > 64 * 64 * 3 / 50, $"{kind} changed only {changed} values");
    }
}
