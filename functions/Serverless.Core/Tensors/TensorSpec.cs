namespace Serverless.Core.Tensors;

/// <summary>
/// What a model declares about one input or output: its name, element type and shape. A dimension of -1
/// is dynamic; when the model names it (for example "batch"), <see cref="SymbolicDimensions"/> holds that
/// name at the same index.
/// </summary>
public sealed record TensorSpec(string Name, TensorElementType ElementType, long[] Shape, string?[] SymbolicDimensions)
{
    public TensorSpec(string name, TensorElementType elementType, long[] shape)
        : this(name, elementType, shape, new string?[shape.Length])
    {
    }

    /// <summary>True when the first dimension is dynamic, so requests can be joined along it.</summary>
    public bool HasDynamicBatch => Shape.Length > 0 && Shape[0] < 0;

    /// <summary>Shape as the protocol prints it, e.g. [-1,3,48,192].</summary>
    public string ShapeText => "[" + string.Join(",", Shape) + "]";
}
