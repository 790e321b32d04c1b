using Veracity.Checkpoints;
using Veracity.Data;
using Veracity.Imaging;
using Veracity.Inference;
using Veracity.Models;
using Veracity.Training;
using static TorchSharp.torch;

namespace Veracity.Tests;

/// <summary>The recipe's levers for unseen generators: residual input, frozen stages, weight averaging, augmentations.</summary>
public class GeneralisationLeverTests(SmallSynthSet data) : IClassFixture<SmallSynthSet>
{
    static TrainConfig Tiny => TrainConfig.DefaultPreset with
    {
        Pretrained = false, ImageSize = 32, Epochs = 1, BatchSize = 8, LearningRate = 1e-3, LogEvery = 2, Workers = 2, Seed = 4,
    };

    TrainData Data => new(data.TrainLabels, data.TrainImages, Path.Combine(data.Root, "valset_label.txt"), Path.Combine(data.Root, "valset"), 0.1);

    [Fact]
    public void Npr_input_is_the_rgb_network_on_each_pixel_minus_the_top_left_pixel_of_its_2x2_cell()
    {
        using var scope = NewDisposeScope();
        using var model = (ResNet)Backbones.Create("resnet18", pretrained: false, seed: 1);
        model.eval();
        var x = randn(2, 3, 64, 64, generator: new TorchSharp.torch.Generator(5));
        var expected = x.clone();
        var pixels = x.data<float>().ToArray();
        var residual = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
        {
            int col = i % 64, row = i / 64 % 64, plane = i / (64 * 64);
            residual[i] = pixels[i] - pixels[plane * 64 * 64 + (row & ~1) * 64 + (col & ~1)];
        }
        using var rgbOfResidual = model.Features(tensor(residual, x.shape));
        model.Input = ModelInput.Npr;
        using var npr = model.Features(x);
        double maxDiff = (npr - rgbOfResidual).abs().max().item<float>();
        Assert.True(maxDiff < 1e-4, $"features differ by up to {maxDiff}");
    }

    [Fact]
    [Trait("Category", "Numerics")] // a fixed convolution: oneDNN picks its kernel by ISA
    public void Srm_input_is_the_rgb_network_on_three_fixed_kernels_of_the_channel_mean()
    {
        using var scope = NewDisposeScope();
        var x = zeros(1, 3, 9, 9);
        x[0, 1, 4, 4] = tensor(3f); // the mean of the channels is 1 there
        using var model = (ResNet)Backbones.Create("resnet18", pretrained: false, seed: 1);
        var kernels = ResNet.RichModelKernels();
        var response = nn.functional.conv2d(x, kernels, padding: [2, 2]);
        float[][] expected =
        [
            [-1, 2, -2, 2, -1, 2, -6, 8, -6, 2, -2, 8, -12, 8, -2, 2, -6, 8, -6, 2, -1, 2, -2, 2, -1],
            [0, 0, 0, 0, 0, 0, -1, 2, -1, 0, 0, 2, -4, 2, 0, 0, -1, 2, -1, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ];
        float[] scales = [12, 4, 2];
        for (int k = 0; k < 3; k++)
        {
            var window = response[0, k, TensorIndex.Slice(2, 7), TensorIndex.Slice(2, 7)].contiguous().data<float>().ToArray();
            Assert.Equal(expected[k].Select(v => v / scales[k]), window, (a, b) => Math.Abs(a - b) < 1e-6);
        }
        using var flat = ones(1, 3, 64, 64);
        Assert.Equal(0, nn.functional.conv2d(flat, kernels).abs().max().item<float>(), 6);

        model.eval();
        var image = randn(2, 3, 64, 64, generator: new TorchSharp.torch.Generator(5));
        var rgbOfResiduals = model.Features(nn.functional.conv2d(image, kernels, padding: [2, 2]));
        model.Input = ModelInput.Srm;
        double maxDiff = (model.Features(image) - rgbOfResiduals).abs().max().item<float>();
        Assert.True(maxDiff < 1e-4, $"features differ by up to {maxDiff}");
    }

    [Fact]
    [Trait("Category", "Numerics")] // a fixed convolution: oneDNN picks its kernel by ISA
    public void Rgb_and_srm_input_starts_as_the_rgb_network_on_the_pixels_plus_their_residuals_and_then_trains_two_stems()
    {
        // Both stems start with conv1's weights, so by linearity conv1(x) + conv1(srm(x)) = conv1(x + srm(x)).
        using var scope = NewDisposeScope();
        using var model = (ResNet)Backbones.Create("resnet18", pretrained: false, seed: 1);
        model.eval();
        var image = randn(2, 3, 64, 64, generator: new TorchSharp.torch.Generator(5));
        var rgbOfSum = model.Features(image + nn.functional.conv2d(image, ResNet.RichModelKernels(), padding: [2, 2]));
        int rgbParameters = model.parameters().Count();
        model.Input = ModelInput.RgbSrm;
        double maxDiff = (model.Features(image) - rgbOfSum).abs().max().item<float>();
        Assert.True(maxDiff < 1e-4, $"features differ by up to {maxDiff}");
        Assert.Equal(rgbParameters + 1, model.parameters().Count());
        Assert.Contains(model.residualStem!.weight!, model.ParametersByDepth()[0]);
        Assert.True(model.residualStem.weight!.requires_grad, "the residual stem does not train");
        Assert.False(ReferenceEquals(model.residualStem.weight, model.conv1.weight), "the two stems share one tensor");
    }

    [Fact]
    [Trait("Category", "Numerics")] // a fixed convolution: oneDNN picks its kernel by ISA
    public void Dct_input_is_the_rgb_network_on_the_log_magnitude_dct_of_each_8x8_block_laid_back_in_place()
    {
        using var scope = NewDisposeScope();
        const int height = 16, width = 24; // not square, so rows and columns cannot be swapped unnoticed
        var x = randn(2, 3, height, width, generator: new TorchSharp.torch.Generator(7));
        var pixels = x.data<float>().ToArray();
        // The reference in float64, straight from the DCT-II definition: C(u,v) = a(u) a(v) ΣΣ x(i,j) cos((2i+1)uπ/16) cos((2j+1)vπ/16).
        static double A(int k) => k == 0 ? Math.Sqrt(0.125) : 0.5;
        var spectrum = new float[pixels.Length];
        for (int plane = 0; plane < 2 * 3; plane++)
            for (int row = 0; row < height; row++)
                for (int col = 0; col < width; col++)
                {
                    int u = row % 8, v = col % 8, top = row - u, left = col - v;
                    double sum = 0;
                    for (int i = 0; i < 8; i++)
                        for (int j = 0; j < 8; j++)
                            sum += pixels[(plane * height + top + i) * width + left + j]
                                * Math.Cos((2 * i + 1) * u * Math.PI / 16) * Math.Cos((2 * j + 1) * v * Math.PI / 16);
                    spectrum[(plane * height + row) * width + col] = (float)Math.Log(Math.Abs(A(u) * A(v) * sum) + 1.0 / 64);
                }
        using var model = (ResNet)Backbones.Create("resnet18", pretrained: false, seed: 1);
        model.eval();
        using var rgbOfSpectrum = model.Features(tensor(spectrum, x.shape));
        model.Input = ModelInput.Dct;
        using var dct = model.Features(x);
        double maxDiff = (dct - rgbOfSpectrum).abs().max().item<float>();
        Assert.True(maxDiff < 1e-4, $"features differ by up to {maxDiff}");

        // A flat block has only its DC term, 8 × its value; the basis is orthonormal (energy kept).
        using var kernels = ResNet.BlockDctKernels();
        using var flat = nn.functional.conv2d(full(1, 3, 8, 8, 0.5f), kernels, strides: [8, 8], groups: 3).flatten();
        Assert.Equal([4f, 0f], new[] { flat[0].item<float>(), flat[TensorIndex.Slice(1, 64)].abs().max().item<float>() },
            (a, b) => Math.Abs(a - b) < 1e-5);
        using var basis = kernels[TensorIndex.Slice(0, 64)].reshape(64, 64);
        using var gram = basis.matmul(basis.t());
        Assert.True((gram - eye(64)).abs().max().item<float>() < 1e-5, "the DCT basis is not orthonormal");
    }

    [Theory]
    [Trait("Category", "Numerics")]
    [InlineData(ModelInput.Npr)]
    [InlineData(ModelInput.Srm)]
    [InlineData(ModelInput.Dct)]
    [InlineData(ModelInput.RgbSrm)]
    public void Frozen_stages_keep_their_weights_and_statistics_and_a_residual_input_model_exports_to_the_same_numbers(ModelInput input)
    {
        using var dir = new TempDir();
        var config = Tiny with { Input = input, Freeze = FrozenStages.Layer2, Precision = Precision.Float32 };
        var result = Trainer.Train(config, Data, dir.Path, new RecordingObserver());

        using var initial = (ResNet)Backbones.Create("resnet18", pretrained: false, seed: config.Seed);
        var (info, loaded) = Checkpoint.Load(result.LastCheckpoint);
        using var trained = (ResNet)loaded;
        Assert.Equal((input, FrozenStages.Layer2), (trained.Input, info.Config.Freeze));
        static IEnumerable<Tensor> State(TorchSharp.torch.nn.Module m) => m.parameters().Cast<Tensor>().Concat(m.buffers());
        var frozen = new (TorchSharp.torch.nn.Module, TorchSharp.torch.nn.Module)[]
            { (initial.conv1, trained.conv1), (initial.bn1, trained.bn1), (initial.layer1, trained.layer1), (initial.layer2, trained.layer2) };
        foreach (var (before, after) in frozen)
            foreach (var (a, b) in State(before).Zip(State(after)))
                Assert.True(a.equal(b).all().item<bool>(), "a frozen stage changed");
        if (input == ModelInput.RgbSrm) // frozen with the stem: still the copy of conv1 it started as
            Assert.True(initial.conv1.weight!.equal(trained.residualStem!.weight!).all().item<bool>(), "the frozen residual stem changed");
        Assert.False(State(initial.layer3).Zip(State(trained.layer3)).All(p => p.First.equal(p.Second).all().item<bool>()), "layer3 did not train");

        using var torchEngine = Detector.Load(result.BestCheckpoint, Engine.Torch);
        using var onnx = Detector.Load(result.BestCheckpoint, Engine.Onnx);
        var loader = new DataLoader(ImageDataset.Labelled(data.TrainImages, LabelFile.ReadLabels(data.TrainLabels), torchEngine.Transform),
            new LoaderOptions(BatchSize: 12));
        using var batch = loader.Epoch().First();
        double maxDiff = torchEngine.Score(batch.Images, 1).Zip(onnx.Score(batch.Images, 1)).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff < 1e-5, $"ONNX Runtime and TorchSharp differ by up to {maxDiff}");
    }

    [Fact]
    public void Layer_decay_scales_each_depths_step_so_the_stem_barely_moves_and_the_last_stage_trains()
    {
        // Parameters only (batch-norm statistics move with the data whatever the learning rate).
        static double Moved(TorchSharp.torch.nn.Module before, TorchSharp.torch.nn.Module after) =>
            before.parameters().Zip(after.parameters()).Max(p => (p.First - p.Second).abs().max().item<float>());
        using var initial = (ResNet)Backbones.Create("resnet18", pretrained: false, seed: Tiny.Seed);
        (double Stem, double Layer4) Trained(double decay)
        {
            using var dir = new TempDir();
            var result = Trainer.Train(Tiny with { LayerDecay = decay, Precision = Precision.Float32 }, Data, dir.Path, new RecordingObserver());
            var (_, loaded) = Checkpoint.Load(result.LastCheckpoint);
            using var trained = (ResNet)loaded;
            return (Moved(initial.conv1, trained.conv1), Moved(initial.layer4, trained.layer4));
        }
        var one = Trained(1);
        var decayed = Trained(0.01); // the stem at 1e-10 of the rate, layer4 at 1e-2
        Assert.True(one.Stem > 1e-4 && one.Layer4 > 1e-4, $"with one rate everything trains: {one}");
        Assert.True(decayed.Stem < 1e-7, $"the stem moved by {decayed.Stem}");
        Assert.True(decayed.Layer4 > 1e-6 && decayed.Layer4 < one.Layer4 / 5, $"layer4 moved by {decayed.Layer4} against {one.Layer4}");
    }

    [Fact]
    public void The_weight_average_follows_its_ramped_decay()
    {
        var config = Tiny with { EmaDecay = 0.99 };
        using var average = WeightAverage.For(config);
        using var model = Backbones.Create("resnet18", pretrained: false, seed: 2);
        average.CopyFrom(model);
        float before = average.Model.parameters().First().data<float>()[0];
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(ones_like(p), Scalars.One);
        average.Update(model, step: 0); // decay min(0.99, 1/10) = 0.1: 0.1·w + 0.9·(w + 1)
        Assert.Equal(before + 0.9f, average.Model.parameters().First().data<float>()[0], 5);
        average.Update(model, step: 10_000); // decay 0.99 now: 0.99·(w + 0.9) + 0.01·(w + 1)
        Assert.Equal(before + 0.901f, average.Model.parameters().First().data<float>()[0], 5);
    }

    [Fact]
    public void Checkpoint_averaging_is_the_mean_of_the_last_epochs_ends_and_nothing_before_them()
    {
        var config = Tiny with { Epochs = 3, AverageEpochs = 2 };
        using var average = WeightAverage.Of(config)!;
        using var model = Backbones.Create("resnet18", pretrained: false, seed: 2);
        float start = model.parameters().First().data<float>()[0];
        void Step()
        {
            using var _ = no_grad();
            foreach (var p in model.parameters()) p.add_(ones_like(p), Scalars.One);
        }
        average.Update(model, step: 0); // per-step updates belong to the exponential average only
        average.EndEpoch(model, 0);
        Assert.False(average.HasStarted(0));
        Step();
        average.EndEpoch(model, 1);
        Assert.True(average.HasStarted(1));
        Assert.Equal(start + 1, average.Model.parameters().First().data<float>()[0], 5);
        Step();
        average.EndEpoch(model, 2); // (w + 1 + w + 2) / 2
        Assert.Equal(start + 1.5f, average.Model.parameters().First().data<float>()[0], 5);
        Assert.Null(WeightAverage.Of(Tiny));
    }

    [Theory]
    [InlineData(0.99, 0, 0.1)] // the exponential average's first step: decay min(0.99, 1/10)
    [InlineData(0.0, 2, 0.5)] // checkpoint averaging over two epochs' ends
    public void The_weight_average_averages_batch_norm_statistics_as_it_averages_the_weights(double ema, int averageEpochs, double keep)
    {
        var config = Tiny with { Epochs = 2, EmaDecay = ema, AverageEpochs = averageEpochs };
        using var average = WeightAverage.Of(config)!;
        using var model = Backbones.Create("resnet18", pretrained: false, seed: 2);
        // Two known states of every batch-norm statistic (positive, as variances are), read back as float64.
        Dictionary<string, double[]> State(int seed)
        {
            using var _ = no_grad();
            using var generator = new Generator((ulong)seed);
            var state = new Dictionary<string, double[]>();
            foreach (var (name, buffer) in model.named_buffers())
            {
                if (buffer.is_floating_point())
                    using (var draw = rand(buffer.shape, generator: generator))
                        buffer.copy_(draw).add_(Scalars.One, Scalars.One);
                else buffer.fill_(10 * seed); // num_batches_tracked
                state[name] = buffer.to(ScalarType.Float64).data<double>().ToArray();
            }
            return state;
        }
        var first = State(1);
        if (ema > 0) average.CopyFrom(model);
        else average.EndEpoch(model, 0);
        var second = State(2);
        if (ema > 0) average.Update(model, step: 0);
        else average.EndEpoch(model, 1);

        var averaged = average.Model.named_buffers().ToDictionary(b => b.name, b => b.buffer.to(ScalarType.Float64).data<double>().ToArray());
        Assert.Equal(second.Keys.Order(), averaged.Keys.Order());
        Assert.Contains(averaged.Keys, name => name.EndsWith("running_var"));
        foreach (var (name, values) in averaged)
        {
            if (name.EndsWith("num_batches_tracked"))
            {
                Assert.Equal(second[name], values); // a count, not a statistic: the live model's
                continue;
            }
            // keep·first + (1 − keep)·second in float64; the float32 average may differ by its rounding (values in [1, 2]).
            double worst = values.Select((v, i) => Math.Abs(v - (keep * first[name][i] + (1 - keep) * second[name][i]))).Max();
            Assert.True(worst < 1e-6, $"{name}: off the average of the two states by up to {worst}");
        }
    }

    [Fact]
    public void The_shortcut_removing_augmentations_change_pixels_only_when_drawn_and_repeat_with_the_seed()
    {
        var decoder = new ImageDecoder();
        string file = Path.Combine(data.TrainImages, LabelFile.ReadLabels(data.TrainLabels)[0].Name);
        foreach (var make in new Func<double, IImageTransform>[] { p => new RandomDownUp(p), p => new RandomNoise(p), p => new RandomErasing(p) })
        {
            var original = decoder.Decode(file);
            RgbImage Applied(double p, int seed)
            {
                var image = decoder.Decode(file);
                make(p).Apply(image, new Random(seed));
                return image;
            }
            Assert.Equal(original.Pixels, Applied(0, 1).Pixels);
            var once = Applied(1, 1);
            Assert.Equal((original.Width, original.Height), (once.Width, once.Height));
            Assert.NotEqual(original.Pixels, once.Pixels);
            Assert.Equal(once.Pixels, Applied(1, 1).Pixels);
        }
    }

    [Fact]
    public void A_training_crop_is_a_window_of_the_decoded_picture_pixel_for_pixel_and_repeats_with_the_seed()
    {
        var decoder = new ImageDecoder();
        string file = Path.Combine(data.TrainImages, LabelFile.ReadLabels(data.TrainLabels)[0].Name);
        var whole = decoder.Decode(file, 64, 64);
        var crop = new SampleTransform(32, 32, [], Normalize.ImageNet) { DecodeWidth = 64, DecodeHeight = 64 };
        var full = SampleTransform.Evaluation(64, 64, Normalize.ImageNet);
        float[] Load(SampleTransform transform, int seed)
        {
            var chw = new float[transform.FloatCount];
            transform.Load(decoder, file, new Random(seed), chw);
            return chw;
        }
        var wholeChw = Load(full, 0);
        var windows = new HashSet<(int, int)>();
        foreach (int seed in Enumerable.Range(0, 8))
        {
            var chw = Load(crop, seed);
            Assert.Equal(chw, Load(crop, seed));
            // Where the window sits: the one offset at which every value equals the whole picture's.
            var at = (from x in Enumerable.Range(0, 33) from y in Enumerable.Range(0, 33)
                      where Enumerable.Range(0, chw.Length).All(i => chw[i] == wholeChw[i / 1024 * 4096 + (y + i % 1024 / 32) * 64 + x + i % 32])
                      select (x, y)).ToList();
            windows.Add(Assert.Single(at));
        }
        Assert.True(windows.Count > 1, "the window moves with the seed");
        Assert.Throws<ArgumentOutOfRangeException>(() => whole.Window(40, 0, 32, 32));
    }

    [Fact]
    public void Levers_need_a_backbone_with_stages_and_sensible_values()
    {
        static string Refused(TrainConfig config) => Assert.Throws<InvalidSettingException>(config.Validate).Setting;
        Assert.Equal("Input", Refused(Tiny with { Model = "resnet50", Input = ModelInput.Npr }));
        Assert.Equal("Freeze", Refused(Tiny with { Model = "mobilenet_v3_small", Freeze = FrozenStages.Stem }));
        Assert.Equal("EmaDecay", Refused(Tiny with { EmaDecay = 1 }));
        Assert.Equal("AverageEpochs", Refused(Tiny with { AverageEpochs = Tiny.Epochs + 1 }));
        Assert.Equal("AverageEpochs", Refused(Tiny with { AverageEpochs = 1, EmaDecay = 0.9 }));
        Assert.Equal("NoiseProbability", Refused(Tiny with { NoiseProbability = 2 }));
        Assert.Equal("Crop", Refused(Tiny with { Crop = Tiny.ImageSize }));
        Assert.Equal("LayerDecay", Refused(Tiny with { LayerDecay = 0 }));
        Assert.Equal("LayerDecay", Refused(Tiny with { Model = "mobilenet_v3_small", LayerDecay = 0.5 }));
        Assert.Equal("Crop", Refused(Tiny with { ImageSize = 64, Crop = 16 }));
        Assert.Equal("EpochSize", Refused(Tiny with { EpochSize = Tiny.BatchSize - 1 }));
        Assert.Equal("CutmixAlpha", Refused(Tiny with { CutmixAlpha = -1 }));
        Assert.Equal("MixupAlpha", Refused(Tiny with { MixupAlpha = double.NaN }));
        Assert.Equal("SourcePower", Refused(Tiny with { SourcePower = 0.5 }));
        Assert.Equal("SourcePower", Refused(Tiny with { BalanceFakeSources = true, SourcePower = -0.5 }));
    }
}
