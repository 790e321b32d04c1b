using System.Text.Json.Serialization;

namespace Veracity.Models;

/// <summary>What a staged backbone's first convolution sees.</summary>
[JsonConverter(typeof(LowerCaseEnumConverter<ModelInput>))]
public enum ModelInput
{
    /// <summary>The normalised pixels.</summary>
    Rgb,
    /// <summary>
    /// Neighbouring-pixel residuals, x − up(down(x)) with 2× nearest sampling (NPR, Tan et al., CVPR 2024): what is
    /// left is the local correlation that generators' upsampling leaves behind, not the face's content.
    /// </summary>
    Npr,
    /// <summary>
    /// Three fixed high-pass residuals of the channels' mean, from the spatial rich model of steganalysis (Fridrich
    /// and Kodovský, 2012) as RGB-N (Zhou et al., CVPR 2018) feeds them to a manipulation detector: the 5×5 "KV"
    /// kernel, a 3×3 second-order one and a horizontal second difference. Content cancels out; noise and
    /// resampling traces stay.
    /// </summary>
    Srm,
    /// <summary>
    /// The log-magnitude spectrum of each channel's 8×8 blocks, as JPEG cuts them: the orthonormal 2-D DCT-II of
    /// every block, log(|c| + 1/64), each block's 64 coefficients laid back where its pixels were (low frequencies
    /// top-left), the frequency-aware input of F³-Net (Qian et al., ECCV 2020) without its learned filters. 1/64 is
    /// about one grey level after normalisation, so rounding noise sits at the floor. A side that is not a multiple of
    /// 8 loses its last rows or columns.
    /// </summary>
    Dct,
    /// <summary>
    /// The pixels and their <see cref="Srm"/> residuals side by side: a second first convolution on the residuals,
    /// starting from the same ImageNet weights, adds its output to the RGB one's, so the network sees a GAN face's
    /// colour and texture as well as the residuals. Measured on the generalise preset (face-swap fold, seed 1, Zen 5):
    /// in-domain 0.996 against 0.990, but unseen face swaps 0.694 against 0.820 (bench/LAB-RECORD.md).
    /// </summary>
    RgbSrm,
}

/// <summary>How much of a staged backbone's trunk is frozen (its weights and batch-norm statistics kept as loaded).</summary>
[JsonConverter(typeof(LowerCaseEnumConverter<FrozenStages>))]
public enum FrozenStages
{
    None,
    /// <summary>The first convolution and its batch norm.</summary>
    Stem,
    Layer1,
    Layer2,
    Layer3,
    /// <summary>The whole trunk: only the classifier trains (a linear probe).</summary>
    Layer4,
}
