using Microsoft.AspNetCore.Http;
using Veracity.Imaging;

namespace Veracity.Server;

/// <summary>One uploaded file: its name as the client gave it, and its bytes.</summary>
public sealed record Upload(string Name, byte[] Bytes);

/// <summary>
/// Reads the image files of a multipart request within the server's limits, throwing <see cref="UploadProblem"/>
/// for anything it refuses. The form reader itself is bounded by the request-size limits set on Kestrel and the
/// form options, so an oversized body fails before it is held in memory.
/// </summary>
public static class Uploads
{
    public const string Field = "image";

    public static async Task<IReadOnlyList<Upload>> ReadAsync(HttpRequest request, ServeOptions options, int maxFiles, CancellationToken cancel)
    {
        if (!request.HasFormContentType) throw UploadProblem.NotMultipart();
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancel);
        }
        catch (InvalidDataException e)
        {
            throw e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)
                ? UploadProblem.RequestTooBig(e.Message)
                : UploadProblem.Malformed(e.Message);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw UploadProblem.RequestTooBig($"the request is larger than {options.MaxRequestBytes:N0} bytes");
        }
        catch (IOException e) when (!cancel.IsCancellationRequested)
        {
            throw UploadProblem.Malformed($"the request body ended early ({e.Message})");
        }

        var files = form.Files.GetFiles(Field);
        if (files.Count == 0) throw UploadProblem.NoFile(form.Files.Select(f => f.Name));
        if (files.Count > maxFiles) throw UploadProblem.TooManyFiles(files.Count, maxFiles);
        var uploads = new List<Upload>(files.Count);
        foreach (var file in files)
        {
            string name = string.IsNullOrWhiteSpace(file.FileName) ? $"{Field}{uploads.Count + 1}" : Path.GetFileName(file.FileName);
            if (file.Length > options.MaxFileBytes) throw UploadProblem.TooBig(name, file.Length, options.MaxFileBytes);
            var bytes = new byte[file.Length];
            await using (var stream = file.OpenReadStream())
                await stream.ReadExactlyAsync(bytes, cancel);
            uploads.Add(new Upload(name, bytes));
        }
        return uploads;
    }

    /// <summary>Decodes an upload (to <paramref name="target"/> when given), turning the decoder's refusal into an HTTP problem.</summary>
    public static RgbImage Decode(ImageDecoder decoder, Upload upload, (int Width, int Height)? target = null)
    {
        try
        {
            return decoder.Decode(upload.Bytes, upload.Name, target);
        }
        catch (ImageDecodeException e)
        {
            throw UploadProblem.From(e);
        }
    }
}
