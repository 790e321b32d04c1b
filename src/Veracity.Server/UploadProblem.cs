using Veracity.Imaging;

namespace Veracity.Server;

/// <summary>
/// An upload the server refuses, answered as an RFC 9457 problem (application/problem+json) whose type names the
/// kind of problem and whose detail names the file.
/// </summary>
public sealed class UploadProblem(string kind, int status, string title, string detail) : Exception(detail)
{
    public string Kind { get; } = kind;
    public int Status { get; } = status;
    public string Title { get; } = title;
    public string Type => $"urn:veracity:problem:{Kind}";

    public static UploadProblem NotMultipart() => new("not-multipart", 415, "Not a multipart upload",
        "send multipart/form-data with one or more files in the field 'image'");

    public static UploadProblem NoFile(IEnumerable<string> otherFields) => new("no-file", 400, "No image in the request",
        "no file in the field 'image'" + (otherFields.Any() ? $" (files came in: {string.Join(", ", otherFields.Distinct())})" : ""));

    public static UploadProblem TooManyFiles(int count, int limit) => new("too-many-files", 413, "Too many files",
        $"{count} files in one request; at most {limit}");

    public static UploadProblem TooBig(string name, long limit) => new("too-big", 413, "File too large",
        $"upload '{name}' is larger than {limit:N0} bytes");

    /// <summary>More pictures (or faces) in one request than the queue holds at all: retrying would never help.</summary>
    public static UploadProblem MoreThanTheQueue(int inputs, string what, int capacity) => new("too-many-inputs", 413,
        "More work than the server's queue holds", $"{inputs} {what} in one request; the queue holds at most {capacity}: send fewer");

    public static UploadProblem RequestTooBig(string detail) => new("too-big", 413, "Request too large", detail);

    public static UploadProblem Malformed(string detail) => new("malformed", 400, "Malformed multipart request", detail);

    public static UploadProblem BadThreshold(string value) => new("bad-threshold", 400, "Invalid threshold",
        $"threshold must be a number between 0 and 1, not '{value}'");

    /// <summary>The decoder's verdict as an HTTP answer.</summary>
    public static UploadProblem From(ImageDecodeException e) => e.Kind switch
    {
        DecodeProblem.Empty => new("empty", 400, "Empty file", $"upload '{e.Path}' is empty (0 bytes)"),
        DecodeProblem.NotAnImage => new("not-an-image", 415, "Not an image",
            $"upload '{e.Path}' is not a supported image (JPEG, PNG, WEBP, GIF, BMP); the format is read from the bytes, not the name"),
        DecodeProblem.Truncated => new("truncated", 422, "Image data is truncated", $"upload '{e.Path}': {e.Problem}"),
        DecodeProblem.TooManyPixels => new("too-many-pixels", 413, "Image has too many pixels", $"upload '{e.Path}': {e.Problem}"),
        _ => new("corrupt", 422, "Image cannot be decoded", $"upload '{e.Path}': {e.Problem}"),
    };
}
