namespace Veracity.Checkpoints;

/// <summary>A setting of a <see cref="TrainConfig"/> that cannot be used; the caller words it for its own interface.</summary>
public sealed class InvalidSettingException(string setting, string problem) : VeracityException($"{setting} {problem}")
{
    public string Setting { get; } = setting;
    public string Problem { get; } = problem;
}
