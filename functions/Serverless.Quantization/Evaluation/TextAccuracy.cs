namespace Serverless.Quantization.Evaluation;

/// <summary>
/// How well recognized lines match the text that was printed: the share of lines read exactly (spaces at both ends
/// trimmed: a space on a blank margin carries no text) and the character error rate, the edit distance summed over
/// lines divided by the number of characters printed.
/// </summary>
public readonly record struct TextAccuracy(int Exact, int Lines, long Edits, long Characters)
{
    /// <summary>The exact-line margin an int8 default may lose to fp32 on realistic lines: one line in thirty.</summary>
    public const double AllowedExactLoss = 1.0 / 30;

    public double ExactRate => Lines == 0 ? 0 : (double)Exact / Lines;

    public double CharacterErrorRate => Characters == 0 ? 0 : (double)Edits / Characters;

    public static TextAccuracy Measure(IReadOnlyList<string> read, IReadOnlyList<string> truth)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(truth);
        if (read.Count != truth.Count)
        {
            throw new ArgumentException($"{read.Count} recognized lines for {truth.Count} printed ones; both must come from the same set.", nameof(read));
        }

        int exact = 0;
        long edits = 0, characters = 0;
        for (var i = 0; i < read.Count; i++)
        {
            var got = read[i].Trim();
            var want = truth[i].Trim();
            exact += got == want ? 1 : 0;
            edits += EditDistance(got, want);
            characters += want.Length;
        }

        return new TextAccuracy(exact, read.Count, edits, characters);
    }

    /// <summary>Levenshtein distance (insertions, deletions and substitutions of UTF-16 code units).</summary>
    public static int EditDistance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
