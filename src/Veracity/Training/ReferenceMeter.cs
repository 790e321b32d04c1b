using System.Diagnostics;
using System.Globalization;

namespace Veracity.Training;

/// <summary>The reference's AverageMeter/ProgressMeter line: [ i/n]  Time  x (avg)  Loss x (avg)  Acc@1 x (avg).</summary>
sealed class ReferenceMeter(int batches)
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    double _time, _timeSum, _loss, _lossSum, _acc, _accSum;
    int _count, _steps;

    public void Update(double loss, double accuracy, int n)
    {
        _time = _clock.Elapsed.TotalSeconds;
        _clock.Restart();
        _timeSum += _time;
        _steps++;
        (_loss, _acc) = (loss, accuracy);
        _lossSum += loss * n;
        _accSum += accuracy * n;
        _count += n;
    }

    public string Line(int batch)
    {
        int digits = batches.ToString(CultureInfo.InvariantCulture).Length;
        string index = batch.ToString(CultureInfo.InvariantCulture).PadLeft(digits);
        return string.Create(CultureInfo.InvariantCulture,
            $"[{index}/{batches}]\tTime {_time,6:F3} ({_timeSum / _steps,6:F3})\tLoss {_loss:0.0000e+00} ({_lossSum / _count:0.0000e+00})" +
            $"\tAcc@1 {_acc,6:F2} ({_accSum / _count,6:F2})");
    }
}
