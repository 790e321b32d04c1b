using System.Text.Json.Serialization;

namespace Veracity.Checkpoints;

[JsonConverter(typeof(LowerCaseEnumConverter<OptimizerKind>))]
public enum OptimizerKind { Adam, AdamW, Sgd }

/// <summary>How the learning rate falls: step (× gamma every step-size epochs) or cosine (to zero over the run).</summary>
[JsonConverter(typeof(LowerCaseEnumConverter<Schedule>))]
public enum Schedule { Step, Cosine }

/// <summary>
/// Which validation figure picks the best checkpoint. LogLoss (lowest mean cross-entropy) weighs every image's score,
/// where AUC only ranks them: with a few hundred validation fakes AUC moves by whole ranks between epochs.
/// </summary>
[JsonConverter(typeof(LowerCaseEnumConverter<SelectBy>))]
public enum SelectBy { Auc, Accuracy, LogLoss }
