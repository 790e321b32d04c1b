using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Veracity.Server;

/// <summary>
/// With an API key, every <c>/api/*</c> request needs <c>Authorization: Bearer KEY</c>, and so do <c>/metrics</c> and
/// <c>/openapi/*</c> with <c>--protect-metrics</c>. Keys are compared as SHA-256 digests in constant time, so neither
/// the key's length nor its prefix leaks through timing.
/// </summary>
public sealed class ApiKeyCheck(RequestDelegate next, string key, bool protectMetrics)
{
    readonly byte[] _expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Whether a path is behind the key (and the rate limit).</summary>
    public static bool Guards(PathString path, bool protectMetrics) =>
        path.StartsWithSegments("/api") || protectMetrics && (path.StartsWithSegments("/metrics") || path.StartsWithSegments("/openapi"));

    public async Task InvokeAsync(HttpContext context)
    {
        if (!Guards(context.Request.Path, protectMetrics) || Authorised(context.Request.Headers.Authorization.ToString()))
        {
            await next(context);
            return;
        }
        context.Response.Headers.WWWAuthenticate = "Bearer";
        await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "API key required",
                detail: "send the server's API key as 'Authorization: Bearer KEY'", type: "urn:veracity:problem:unauthorised")
            .ExecuteAsync(context);
    }

    bool Authorised(string header)
    {
        const string scheme = "Bearer ";
        string given = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : "";
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), _expected);
    }
}
