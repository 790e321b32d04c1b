using System.Security.Cryptography;
using Veracity.Data;
using Veracity.Imaging;
using Veracity.Synth;

namespace Veracity.Tests;

public class SynthTests
{
    internal static Dictionary<string, string> Hashes(string root) =>
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
    [InlineData(Manipulations.SelfBlend)]
    public void Each_manipulation_changes_the_image(string kind)
    {
        var real = SceneRenderer.Render(64, new Random(3));
        var fake = new RgbImage(64, 64, (byte[])real.Pixels.Clone());
        Manipulations.Apply(kind, fake, new Random(4));
        int changed = real.Pixels.Zip(fake.Pixels).Count(p => Math.Abs(p.First - p.Second) > 2);
        Assert.True(changed > 64 * 64 * 3 / 50, $"{kind} changed only {changed} values");
    }

    [Fact]
    public void A_self_blend_changes_a_central_region_with_the_picture_itself()
    {
        // A smooth picture (a diagonal ramp), so the moved, recoloured copy stays close to the original while another
        // scene pasted in (a splice) does not; the corners lie outside every region and are untouched.
        var ramp = new RgbImage(96, 96);
        for (int i = 0; i < ramp.Pixels.Length; i++)
            ramp.Pixels[i] = (byte)(40 + (i / 3 % 96 + i / 3 / 96) * 80 / 96 + i % 3 * 20);
        double MeanChange(string kind, int seed, Func<int, int, bool> where)
        {
            var fake = new RgbImage(96, 96, (byte[])ramp.Pixels.Clone());
            Manipulations.Apply(kind, fake, new Random(seed));
            var changes = Enumerable.Range(0, 96 * 96).Where(p => where(p % 96, p / 96))
                .Select(p => Enumerable.Range(0, 3).Average(c => Math.Abs(fake.Pixels[p * 3 + c] - ramp.Pixels[p * 3 + c])));
            return changes.Average();
        }
        bool Corner(int x, int y) => Math.Min(x, 95 - x) < 4 && Math.Min(y, 95 - y) < 4;
        bool Centre(int x, int y) => Math.Abs(x - 48) < 8 && Math.Abs(y - 48) < 8;
        for (int seed = 0; seed < 5; seed++)
        {
            Assert.Equal(0, MeanChange(Manipulations.SelfBlend, seed, Corner));
            double self = MeanChange(Manipulations.SelfBlend, seed, Centre), splice = MeanChange(Manipulations.Splice, seed, Centre);
            Assert.InRange(self, 0.5, 20);
            Assert.True(splice > self, $"seed {seed}: splice changed the centre by {splice:F1}, self-blend by {self:F1}");
        }
    }
}

public class ManipulatedRealsTests(SmallSynthSet data) : IClassFixture<SmallSynthSet>
{
    FromRealsOptions Options(string outDir, int seed = 3) =>
        new(data.TrainLabels, data.TrainImages, outDir, [Manipulations.Splice, Manipulations.Resample], PerKind: 4, Seed: seed, Quality: 85);

    [Fact]
    public void Copies_the_set_and_adds_each_kind_as_its_own_source_made_from_its_reals()
    {
        using var dir = new TempDir();
        var counts = ManipulatedReals.Generate(Options(dir.Path));
        var input = LabelFile.ReadLabels(data.TrainLabels);
        var rows = LabelFile.ReadLabels(Path.Combine(dir.Path, ManipulatedReals.LabelFile));

        Assert.Equal(input.Count + 8, rows.Count);
        Assert.Equal((4, 4), (counts["own-splice"], counts["own-resample"]));
        Assert.Equal(input.Select(r => (r.Name, r.Target, r.Source)), rows.Take(input.Count).Select(r => (r.Name, r.Target, r.Source)));
        var decoder = new ImageDecoder();
        foreach (var made in rows.Skip(input.Count))
        {
            Assert.Equal(1, made.Target);
            string original = made.Name[(made.Name.IndexOf('/') + 1)..];
            Assert.Contains(input, r => r.Target == 0 && r.Name == original); // each fake comes from a real of the set
            var picture = decoder.Decode(Path.Combine(dir.Path, "images", made.Name));
            var real = decoder.Decode(Path.Combine(dir.Path, "images", original));
            Assert.Equal((real.Width, real.Height), (picture.Width, picture.Height));
            Assert.NotEqual(real.Pixels, picture.Pixels);
        }
        // Every written picture, the copied ones too, is re-encoded: none is the input's file byte for byte.
        Assert.All(input, r => Assert.NotEqual(File.ReadAllBytes(Path.Combine(data.TrainImages, r.Name)),
            File.ReadAllBytes(Path.Combine(dir.Path, "images", r.Name))));
    }

    [Fact]
    public void Same_seed_gives_identical_files_and_impossible_requests_are_refused()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        ManipulatedReals.Generate(Options(a.Path));
        ManipulatedReals.Generate(Options(b.Path));
        Assert.Equal(SynthTests.Hashes(a.Path), SynthTests.Hashes(b.Path));

        using var c = new TempDir();
        var tooMany = Assert.Throws<VeracityException>(() => ManipulatedReals.Generate(Options(c.Path) with { PerKind = 1000 }));
        Assert.Contains("more than the", tooMany.Message);
        Assert.Throws<VeracityException>(() => ManipulatedReals.Generate(Options(c.Path) with { Kinds = ["blur"] }));
    }
}
