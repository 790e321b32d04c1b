using System.Runtime.InteropServices;

namespace Veracity.Cli;

/// <summary>Ctrl+C (SIGINT) and SIGTERM ask long work to stop cleanly (after the current batch) instead of killing the process.</summary>
sealed class StopSignals : IDisposable
{
    readonly CancellationTokenSource _stop;
    readonly ConsoleCancelEventHandler _onCancel;
    readonly PosixSignalRegistration _onTerm;

    public StopSignals(CancellationToken outer)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _onCancel = (_, e) =>
        {
            e.Cancel = true;
            _stop.Cancel();
        };
        Console.CancelKeyPress += _onCancel;
        _onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true;
            _stop.Cancel();
        });
    }

    public CancellationToken Token => _stop.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= _onCancel;
        _onTerm.Dispose();
        _stop.Dispose();
    }
}
