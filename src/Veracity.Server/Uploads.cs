using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Veracity.Server;

/// <summary>One uploaded file: its name as the client gave it, and its bytes.</summary>
public sealed record Upload(string Name, byte[] Bytes);

/// <summary>The files of a multipart request, and its small form fields (a threshold).</summary>
public sealed record UploadForm(IReadOnlyList<Upload> Files, IReadOnlyDictionary<string, string> Fields);

/// <summary>
/// Reads the image files of a multipart request as they stream in, within the server's limits, throwing
/// <see cref="UploadProblem"/> for anything it refuses: each file is refused as soon as it passes its size limit,
/// so nothing larger is ever held, and the whole body is bounded by Kestrel's request-size limit.
/// </summary>
public static class Uploads
{
    public const string Field = "image";

    /// <summary>A form field (not a file) longer than this is malformed: the API's only field is a threshold.</summary>
    const int MaxFieldBytes = 1024;

    const int MaxFields = 16;

    public static async Task<UploadForm> ReadAsync(HttpRequest request, ServeOptions options, int maxFiles, CancellationToken cancel)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            throw UploadProblem.NotMultipart();
        string boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value ?? "";
        if (boundary.Length == 0) throw UploadProblem.Malformed("the multipart Content-Type has no boundary");

        var files = new List<Upload>();
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var otherFileFields = new List<string>();
        int fileCount = 0;
        var reader = new MultipartReader(boundary, request.Body);
        try
        {
            while (await reader.ReadNextSectionAsync(cancel) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
                    throw UploadProblem.Malformed("a part of the form has no Content-Disposition");
                string field = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                if (disposition.IsFileDisposition())
                {
                    if (field != Field) otherFileFields.Add(field);
                    else if (++fileCount <= maxFiles)
                    {
                        string given = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "";
                        string name = string.IsNullOrWhiteSpace(given) ? $"{Field}{fileCount}" : Path.GetFileName(given);
                        files.Add(new Upload(name, await ReadAtMost(section.Body, options.MaxFileBytes, cancel)
                            ?? throw UploadProblem.TooBig(name, options.MaxFileBytes)));
                        continue;
                    }
                    await section.Body.DrainAsync(cancel); // counted only, to say how many came
                    continue;
                }
                if (fields.Count == MaxFields) throw UploadProblem.Malformed($"more than {MaxFields} form fields");
                var value = await ReadAtMost(section.Body, MaxFieldBytes, cancel)
                    ?? throw UploadProblem.Malformed($"form field '{field}' is longer than {MaxFieldBytes} bytes");
                fields[field] = System.Text.Encoding.UTF8.GetString(value);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw UploadProblem.RequestTooBig($"the request is larger than {options.MaxRequestBytes:N0} bytes");
        }
        catch (BadHttpRequestException e)
        {
            throw UploadProblem.Malformed(e.Message);
        }
        catch (InvalidDataException e)
        {
            throw UploadProblem.Malformed(e.Message); // the multipart framing itself: a line or part header too long
        }
        catch (IOException e) when (!cancel.IsCancellationRequested)
        {
            throw UploadProblem.Malformed($"the request body ended early ({e.Message})");
        }

        if (fileCount == 0) throw UploadProblem.NoFile(otherFileFields);
        if (fileCount > maxFiles) throw UploadProblem.TooManyFiles(fileCount, maxFiles);
        return new UploadForm(files, fields);
    }

    /// <summary>The stream's bytes, or null as soon as there are more than <paramref name="limit"/>.</summary>
    static async Task<byte[]?> ReadAtMost(Stream body, long limit, CancellationToken cancel)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancel)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
