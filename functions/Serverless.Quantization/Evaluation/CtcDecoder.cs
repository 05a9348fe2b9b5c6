using System.Text;

namespace Serverless.Quantization.Evaluation;

/// <summary>
/// Greedy CTC decoding as PaddleOCR does it: the best class per time step, repeats collapsed, blank
/// (class 0) dropped. Class i (1-based) is line i of the dictionary file and the last class is a space.
/// </summary>
public sealed class CtcDecoder
{
    private readonly string[] _characters;

    public CtcDecoder(IReadOnlyList<string> dictionary, bool appendSpace = true)
    {
        ArgumentNullException.ThrowIfNull(dictionary);
        _characters = ["", .. dictionary, .. appendSpace ? new[] { " " } : []];
    }

    public static CtcDecoder FromFile(string path) =>
        new(File.ReadAllText(path).Split('\n').Select(l => l.TrimEnd('\r')).Where((l, i) => l.Length > 0 || i == 0).ToArray());

    public int ClassCount => _characters.Length;

    /// <summary>Decodes one sequence of <paramref name="steps"/> x <paramref name="classes"/> scores (row-major).</summary>
    public string Decode(ReadOnlySpan<float> scores, int steps, int classes)
    {
        if (scores.Length < steps * classes)
        {
            throw new ArgumentException($"Expected {steps * classes} scores ({steps} steps x {classes} classes), got {scores.Length}.", nameof(scores));
        }

        var text = new StringBuilder();
        var previous = -1;
        for (var t = 0; t < steps; t++)
        {
            var row = scores.Slice(t * classes, classes);
            var best = 0;
            for (var c = 1; c < classes; c++)
            {
                if (row[c] > row[best])
                {
                    best = c;
                }
            }

            if (best != 0 && best != previous && best < _characters.Length)
            {
                text.Append(_characters[best]);
            }

            previous = best;
        }

        return text.ToString();
    }
}
