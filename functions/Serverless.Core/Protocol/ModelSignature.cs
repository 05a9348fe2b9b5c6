using System.Runtime.CompilerServices;
using System.Text;
using Serverless.Core.Inference;
using Serverless.Core.Tensors;

namespace Serverless.Core.Protocol;

/// <summary>
/// A session's inputs and outputs with their names pre-encoded as UTF-8, computed once per session, so that
/// the codecs match request names and write response names without transcoding or allocating per request.
/// </summary>
internal sealed class ModelSignature
{
    private static readonly ConditionalWeakTable<IInferenceSession, ModelSignature> Cache = new();

    private ModelSignature(IReadOnlyList<TensorSpec> inputs, IReadOnlyList<TensorSpec> outputs)
    {
        Inputs = [.. inputs];
        Outputs = [.. outputs];
        InputNames = new byte[Inputs.Length][];
        for (var i = 0; i < Inputs.Length; i++)
        {
            InputNames[i] = Encoding.UTF8.GetBytes(Inputs[i].Name);
        }

        OutputNames = new byte[Outputs.Length][];
        for (var i = 0; i < Outputs.Length; i++)
        {
            OutputNames[i] = Encoding.UTF8.GetBytes(Outputs[i].Name);
        }

        InputNameList = string.Join(", ", Inputs.Select(s => $"'{s.Name}' {s.ElementType.ToProtocolName() ?? s.ElementType.ToString()} {s.ShapeText}"));
        OutputNameList = string.Join(", ", Outputs.Select(s => $"'{s.Name}'"));
    }

    public TensorSpec[] Inputs { get; }

    public TensorSpec[] Outputs { get; }

    public byte[][] InputNames { get; }

    public byte[][] OutputNames { get; }

    /// <summary>"'x' FP32 [-1,3,48,192], ..." for error messages.</summary>
    public string InputNameList { get; }

    public string OutputNameList { get; }

    public static ModelSignature For(IInferenceSession session) =>
        Cache.GetValue(session, static s => new ModelSignature(s.Inputs, s.Outputs));

    public int FindInput(ReadOnlySpan<byte> utf8Name) => Find(InputNames, utf8Name);

    public int FindOutput(ReadOnlySpan<byte> utf8Name) => Find(OutputNames, utf8Name);

    private static int Find(byte[][] names, ReadOnlySpan<byte> utf8Name)
    {
        for (var i = 0; i < names.Length; i++)
        {
            if (utf8Name.SequenceEqual(names[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
