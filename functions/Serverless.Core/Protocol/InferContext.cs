namespace Serverless.Core.Protocol;

/// <summary>What the request codecs need besides the bytes: the model's name for messages, the limits and the tensor pool.</summary>
internal readonly record struct InferContext(string Model, long MaxTensorElements, HostTensorPool Tensors, long HeaderLength);
