using Serverless.Core.Inference;

namespace Serverless.Core.Onnx;

/// <summary>
/// Creates ONNX Runtime sessions; the production <see cref="IInferenceSessionFactory"/>. Stateless and thread-safe:
/// one instance serves the whole process. The native library is loaded on the first session (or by
/// <see cref="OrtRuntime.EnsureLoaded"/>, to do it during init).
/// </summary>
public sealed class OnnxSessionFactory : IInferenceSessionFactory
{
    public static OnnxSessionFactory Instance { get; } = new();

    /// <summary>The execution providers this ONNX Runtime build offers (always includes CPUExecutionProvider).</summary>
    public static IReadOnlyList<string> AvailableProviders() => OnnxSessionBuilder.AvailableProviders();

    public OnnxSession Create(string modelName, string modelPath, SessionSettings settings) =>
        OnnxSessionBuilder.FromFile(modelName, modelPath, settings);

    public OnnxSession Create(string modelName, ReadOnlySpan<byte> modelBytes, SessionSettings settings) =>
        OnnxSessionBuilder.FromBytes(modelName, modelBytes, settings);

    IInferenceSession IInferenceSessionFactory.Create(string modelName, string modelPath, SessionSettings settings) =>
        Create(modelName, modelPath, settings);

    IInferenceSession IInferenceSessionFactory.Create(string modelName, ReadOnlySpan<byte> modelBytes, SessionSettings settings) =>
        Create(modelName, modelBytes, settings);
}
