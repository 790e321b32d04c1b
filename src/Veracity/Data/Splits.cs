namespace Veracity.Data;

public static class Splits
{
    /// <summary>Holds out <paramref name="fraction"/> of each class, chosen by <paramref name="seed"/>; both parts keep file order.</summary>
    public static (IReadOnlyList<LabelRow> Kept, IReadOnlyList<LabelRow> HeldOut) Stratified(IReadOnlyList<LabelRow> rows, double fraction, int seed)
    {
        if (fraction is <= 0 or >= 1) throw new VeracityException("the validation fraction must be between 0 and 1");
        var heldOut = new HashSet<int>();
        for (int target = 0; target <= 1; target++)
        {
            var members = Enumerable.Range(0, rows.Count).Where(i => rows[i].Target == target).ToArray();
            new Random(Seeds.Mix(seed, target, Seeds.Salt.ValidationSplit)).Shuffle(members);
            foreach (int i in members.Take((int)Math.Round(members.Length * fraction))) heldOut.Add(i);
        }
        if (heldOut.Count == 0 || heldOut.Count == rows.Count)
            throw new VeracityException($"a validation fraction of {fraction} of {rows.Count} rows leaves no training or no validation rows");
        return (Enumerable.Range(0, rows.Count).Where(i => !heldOut.Contains(i)).Select(i => rows[i]).ToList(),
            Enumerable.Range(0, rows.Count).Where(heldOut.Contains).Select(i => rows[i]).ToList());
    }
}
