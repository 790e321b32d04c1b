namespace Veracity;

/// <summary>A problem with the user's input that the CLI reports as one clear line, without a stack trace.</summary>
public class VeracityException(string message, Exception? inner = null) : Exception(message, inner);
