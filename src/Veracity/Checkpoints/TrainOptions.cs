using System.Text.Json.Serialization;

namespace Veracity.Checkpoints;

[JsonConverter(typeof(LowerCaseEnumConverter<OptimizerKind>))]
public enum OptimizerKind { Adam, AdamW, Sgd }

/// <summary>How the learning rate falls: step (× gamma every step-size epochs) or cosine (to zero over the run).</summary>
[JsonConverter(typeof(LowerCaseEnumConverter<Schedule>))]
public enum Schedule { Step, Cosine }

/// <summary>
/// Which validation figure picks the best checkpoint. LogLoss (the lowest mean cross-entropy) weighs every image's
/// score, where AUC only ranks them, so among a few hundred validation fakes the hardest few decide it: in one
/// whole-corpus fold AUC kept an undertrained first epoch that log-loss ranked 7th of 8 (bench/LAB-RECORD.md).
/// SourceAuc is the lowest of each fake source's AUC against all validation reals: a source that is a small share of
/// the fakes decides it as much as a large one (without a source column it is the AUC). SourceLogLoss is the mean of
/// each source's own log-loss: every source weighs the same, as with SourceAuc, but every image's score counts, as
/// with LogLoss (without a source column it is the log-loss).
/// </summary>
[JsonConverter(typeof(LowerCaseEnumConverter<SelectBy>))]
public enum SelectBy { Auc, Accuracy, LogLoss, SourceAuc, SourceLogLoss }
