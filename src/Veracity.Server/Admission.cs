using Microsoft.AspNetCore.Http;

namespace Veracity.Server;

/// <summary>
/// Decides whether a request may start before its body is read: a request larger than the limit is refused (413),
/// and one that finds every request slot taken, or whose declared size does not fit in the bytes in flight, is
/// told to come back (503 with Retry-After). Decoding then takes one of a few decode slots, so the pixels in flight
/// stay under <see cref="ServeOptions.DecodeSlots"/> × <see cref="ServeOptions.MaxPixels"/>.
/// </summary>
public sealed class Admission(ServeOptions options)
{
    readonly SemaphoreSlim _requests = new(options.MaxConcurrentRequests);
    readonly SemaphoreSlim _decoding = new(options.DecodeSlots);
    long _bytes;

    /// <summary>Bytes of admitted request bodies (a body of unknown length counts as the largest allowed).</summary>
    public long BytesInFlight => Interlocked.Read(ref _bytes);

    /// <summary>The request's admission, or null when it must wait its turn; throws <see cref="UploadProblem"/> for one too large ever to admit.</summary>
    public Ticket? TryAdmit(HttpRequest request)
    {
        long declared = request.ContentLength ?? options.MaxRequestBytes;
        if (declared > options.MaxRequestBytes)
            throw UploadProblem.RequestTooBig($"the request is {declared:N0} bytes; at most {options.MaxRequestBytes:N0}");
        if (!_requests.Wait(0)) return null;
        long bytes;
        do
        {
            bytes = Interlocked.Read(ref _bytes);
            if (bytes + declared > options.MaxBytesInFlight)
            {
                _requests.Release();
                return null;
            }
        } while (Interlocked.CompareExchange(ref _bytes, bytes + declared, bytes) != bytes);
        return new Ticket(this, declared);
    }

    /// <summary>A decode slot, held while one picture is decoded and cut.</summary>
    public async Task<IDisposable> DecodeSlotAsync(CancellationToken cancel)
    {
        await _decoding.WaitAsync(cancel);
        return new Slot(_decoding);
    }

    sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        int _held = 1;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _held, 0) == 1) slots.Release();
        }
    }

    /// <summary>An admitted request: its slot and bytes are given back when it ends.</summary>
    public sealed class Ticket(Admission admission, long bytes) : IDisposable
    {
        int _held = 1;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _held, 0) == 0) return;
            Interlocked.Add(ref admission._bytes, -bytes);
            admission._requests.Release();
        }
    }
}
