using System.Text;
using Serverless.Core.Inference;
using Serverless.Core.Tensors;

namespace Serverless.Core.Models;

/// <summary>
/// Whether a created session is the model its manifest describes: the same input and output names, each with
/// the manifest's datatype and rank, and equal sizes where both fix a dimension (a dynamic dimension on either
/// side fits). A manifest that declares no inputs (or no outputs) leaves that side unchecked. A session that
/// does not fit came from the wrong bytes (a foreign optimized graph, a replaced artifact), or the manifest is
/// wrong; either way it must not answer requests.
/// </summary>
public static class ModelContract
{
    /// <summary>Why <paramref name="session"/> does not fit <paramref name="manifest"/>, or null when it does.</summary>
    public static string? Check(ModelManifest manifest, IInferenceSession session)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(session);
        var problems = new StringBuilder();
        Compare("input", manifest.Inputs, session.Inputs, problems);
        Compare("output", manifest.Outputs, session.Outputs, problems);
        return problems.Length == 0 ? null : problems.ToString().TrimEnd();
    }

    private static void Compare(string kind, IReadOnlyList<TensorManifest> declared, IReadOnlyList<TensorSpec> actual, StringBuilder problems)
    {
        if (declared.Count == 0)
        {
            return;
        }

        foreach (var expected in declared)
        {
            var spec = actual.FirstOrDefault(s => s.Name == expected.Name);
            if (spec is null)
            {
                problems.Append($"the manifest's {kind} '{expected.Name}' is missing (the session's {kind}s: {Names(actual)}). ");
                continue;
            }

            var type = spec.ElementType.ToProtocolName() ?? spec.ElementType.ToString();
            if (!string.Equals(type, expected.Datatype, StringComparison.Ordinal))
            {
                problems.Append($"{kind} '{expected.Name}' is {type}, the manifest says {expected.Datatype}. ");
            }

            if (spec.Shape.Length != expected.Shape.Length)
            {
                problems.Append($"{kind} '{expected.Name}' has rank {spec.Shape.Length} {spec.ShapeText}, the manifest says rank {expected.Shape.Length} [{string.Join(",", expected.Shape)}]. ");
                continue;
            }

            for (var d = 0; d < spec.Shape.Length; d++)
            {
                if (spec.Shape[d] >= 0 && expected.Shape[d] >= 0 && spec.Shape[d] != expected.Shape[d])
                {
                    problems.Append($"{kind} '{expected.Name}' has shape {spec.ShapeText}, the manifest says [{string.Join(",", expected.Shape)}]. ");
                    break;
                }
            }
        }

        foreach (var spec in actual)
        {
            if (!declared.Any(d => d.Name == spec.Name))
            {
                problems.Append($"the session has an {kind} '{spec.Name}' the manifest does not declare. ");
            }
        }
    }

    private static string Names(IReadOnlyList<TensorSpec> specs) => specs.Count == 0 ? "none" : string.Join(", ", specs.Select(s => $"'{s.Name}'"));
}
