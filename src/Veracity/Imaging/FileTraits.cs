using MetadataExtractor.Formats.Jpeg;
using MetadataExtractor.IO;

namespace Veracity.Imaging;

/// <summary>
/// How an image file was made, apart from what it shows: format, pixel size and, for JPEG, the quality its
/// quantisation tables imply, the chroma subsampling, progressive or baseline coding, and whether it carries EXIF.
/// Between classes these are shortcuts: a detector learns "PNG is real" as readily as it learns a forgery.
/// </summary>
public sealed record FileTraits(string Format, int Width, int Height, int? JpegQuality, string? ChromaSubsampling, bool? Progressive, bool Exif)
{
    /// <summary>
    /// The IJG (libjpeg) standard luminance table that encoders scale by their quality setting. Its sum against a
    /// file's luminance table gives the scale, and so the quality, whatever order the table is stored in.
    /// </summary>
    static readonly int[] StandardLuminance =
    [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ];

    static readonly JpegSegmentType[] Wanted =
    [
        JpegSegmentType.App1, JpegSegmentType.Dqt, JpegSegmentType.Sof0, JpegSegmentType.Sof1, JpegSegmentType.Sof2,
        JpegSegmentType.Sof3, JpegSegmentType.Sof5, JpegSegmentType.Sof6, JpegSegmentType.Sof7, JpegSegmentType.Sof9,
        JpegSegmentType.Sof10, JpegSegmentType.Sof11, JpegSegmentType.Sof13, JpegSegmentType.Sof14, JpegSegmentType.Sof15,
    ];

    /// <summary>The traits of a file whose header has been read; a JPEG's segments are read (by MetadataExtractor) up to its image data.</summary>
    public static FileTraits Of(byte[] bytes, ImageHeader header)
    {
        if (!header.Format.Equals("jpeg", StringComparison.OrdinalIgnoreCase))
            return new FileTraits(header.Format, header.Width, header.Height, null, null, null, HasExifChunk(bytes, header.Format));
        List<JpegSegment> segments;
        try
        {
            segments = JpegSegmentReader.ReadSegments(new SequentialByteArrayReader(bytes), Wanted).ToList();
        }
        catch (Exception e) when (e is JpegProcessingException or IOException)
        {
            return new FileTraits(header.Format, header.Width, header.Height, null, null, null, false);
        }
        var frame = segments.FirstOrDefault(s => s.Type is not (JpegSegmentType.App1 or JpegSegmentType.Dqt));
        return new FileTraits(header.Format, header.Width, header.Height,
            segments.Where(s => s.Type == JpegSegmentType.Dqt).Select(s => Quality(s.Bytes)).FirstOrDefault(q => q is not null),
            frame is null ? null : Subsampling(frame.Bytes),
            frame is null ? null : frame.Type is JpegSegmentType.Sof2 or JpegSegmentType.Sof6 or JpegSegmentType.Sof10 or JpegSegmentType.Sof14,
            segments.Any(s => s.Type == JpegSegmentType.App1 && s.Bytes.AsSpan().StartsWith("Exif\0"u8)));
    }

    /// <summary>
    /// The IJG quality whose scaled standard table sums as the file's luminance table (table 0) does: libjpeg scales
    /// by 5000/q below 50 and by 200 − 2q above. Null when the segment holds no table 0.
    /// </summary>
    static int? Quality(byte[] dqt)
    {
        for (int at = 0; at < dqt.Length;)
        {
            int precision = dqt[at] >> 4, table = dqt[at] & 15, width = precision == 0 ? 1 : 2;
            if (at + 1 + 64 * width > dqt.Length) return null;
            if (table == 0)
            {
                long sum = 0;
                for (int i = 0; i < 64; i++)
                    sum += width == 1 ? dqt[at + 1 + i] : dqt[at + 1 + 2 * i] << 8 | dqt[at + 2 + 2 * i];
                double scale = 100.0 * sum / StandardLuminance.Sum();
                double quality = scale <= 100 ? (200 - scale) / 2 : 5000 / scale;
                return (int)Math.Clamp(Math.Round(quality), 1, 100);
            }
            at += 1 + 64 * width;
        }
        return null;
    }

    /// <summary>4:2:0, 4:2:2, 4:4:4 (and so on) from the luma's sampling factors against the chroma's; "gray" for one component.</summary>
    static string? Subsampling(byte[] frame)
    {
        // precision(1) height(2) width(2) components(1), then per component: id(1), sampling H<<4|V (1), table(1).
        if (frame.Length < 6) return null;
        int components = frame[5];
        if (components == 1) return "gray";
        if (components < 3 || frame.Length < 6 + 3 * components) return null;
        int lumaH = frame[7] >> 4, lumaV = frame[7] & 15, chromaH = frame[10] >> 4, chromaV = frame[10] & 15;
        if (chromaH == 0 || chromaV == 0) return null;
        return (lumaH / chromaH, lumaV / chromaV) switch
        {
            (1, 1) => "4:4:4",
            (2, 1) => "4:2:2",
            (2, 2) => "4:2:0",
            (1, 2) => "4:4:0",
            (4, 1) => "4:1:1",
            var (h, v) => $"{h}x{v}",
        };
    }

    /// <summary>EXIF outside JPEG: PNG's eXIf chunk, WEBP's EXIF chunk (a scan for the chunk name; false for other formats).</summary>
    static bool HasExifChunk(byte[] bytes, string format) => format.ToLowerInvariant() switch
    {
        "png" => bytes.AsSpan().IndexOf("eXIf"u8) >= 0,
        "webp" => bytes.AsSpan().IndexOf("EXIF"u8) >= 0,
        _ => false,
    };
}
