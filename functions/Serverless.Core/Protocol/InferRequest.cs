using Serverless.Core.Tensors;

namespace Serverless.Core.Protocol;

/// <summary>
/// The parsed state of one infer request, reused across requests: one input slot per model input (in the
/// model's order, filled whatever order the request used), the selected outputs and whether each is binary,
/// and the raw id to echo. Owned by <see cref="InferRunner"/>; not thread-safe.
/// </summary>
internal sealed class InferRequest
{
    private byte[] _id = new byte[64];

    /// <summary>Per model input, in the model's order; entries are null until the request supplies them.</summary>
    public HostTensor[] Inputs { get; private set; } = [];

    /// <summary>Per model input: true once the request supplied it (to catch duplicates and missing inputs).</summary>
    public bool[] InputSeen { get; private set; } = [];

    public int[] OutputIndices { get; private set; } = [];

    public bool[] OutputBinary { get; private set; } = [];

    /// <summary>Per selected output: true when the request set binary_data on it, overriding binary_data_output.</summary>
    public bool[] OutputBinaryExplicit { get; private set; } = [];

    /// <summary>Per model output: its position in <see cref="OutputIndices"/>, or -1 when not selected yet.</summary>
    public int[] OutputSlot { get; private set; } = [];

    public IOutputTensor?[] Results { get; private set; } = [];

    public int OutputCount { get; set; }

    /// <summary>The id exactly as the request spelled it inside its quotes (still JSON-escaped), or null for none.</summary>
    public ReadOnlySpan<byte> Id => HasId ? _id.AsSpan(0, IdLength) : default;

    public bool HasId { get; private set; }

    private int IdLength { get; set; }

    public bool BinaryDataOutput { get; set; }

    /// <summary>Binary bytes consumed so far by inputs with binary_data_size.</summary>
    public long BinaryOffset { get; set; }

    public void Reset(ModelSignature signature)
    {
        var inputs = signature.Inputs.Length;
        var outputs = signature.Outputs.Length;
        if (Inputs.Length != inputs)
        {
            Inputs = new HostTensor[inputs];
            InputSeen = new bool[inputs];
        }

        if (OutputIndices.Length != outputs)
        {
            OutputIndices = new int[outputs];
            OutputBinary = new bool[outputs];
            OutputBinaryExplicit = new bool[outputs];
            OutputSlot = new int[outputs];
            Results = new IOutputTensor?[outputs];
        }

        Array.Clear(InputSeen);
        Array.Fill(OutputSlot, -1);
        Array.Clear(OutputBinaryExplicit);
        OutputCount = 0;
        HasId = false;
        IdLength = 0;
        BinaryDataOutput = false;
        BinaryOffset = 0;
    }

    public void SetId(ReadOnlySpan<byte> rawEscaped)
    {
        if (_id.Length < rawEscaped.Length)
        {
            _id = new byte[Math.Max(rawEscaped.Length, _id.Length * 2)];
        }

        rawEscaped.CopyTo(_id);
        IdLength = rawEscaped.Length;
        HasId = true;
    }

    /// <summary>Returns input tensors to the pool and disposes results; safe to call more than once.</summary>
    public void Release(HostTensorPool pool)
    {
        for (var i = 0; i < Inputs.Length; i++)
        {
            if (Inputs[i] is { } tensor)
            {
                Inputs[i] = null!;
                pool.Return(tensor);
            }
        }

        for (var i = 0; i < Results.Length; i++)
        {
            if (Results[i] is { } result)
            {
                Results[i] = null;
                result.Dispose();
            }
        }
    }
}
