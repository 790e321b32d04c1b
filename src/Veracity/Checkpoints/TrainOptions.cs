using System.Text.Json.Serialization;

namespace Veracity.Checkpoints;

[JsonConverter(typeof(LowerCaseEnumConverter<OptimizerKind>))]
public enum OptimizerKind { Adam, AdamW, Sgd }

/// <summary>How the learning rate falls: step (× gamma every step-size epochs) or cosine (to zero over the run).</summary>
[JsonConverter(typeof(LowerCaseEnumConverter<Schedule>))]
public enum Schedule { Step, Cosine }

/// <summary>Which validation figure picks the best checkpoint.</summary>
[JsonConverter(typeof(LowerCaseEnumConverter<SelectBy>))]
public enum SelectBy { Auc, Accuracy }
