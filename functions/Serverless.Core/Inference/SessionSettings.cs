namespace Serverless.Core.Inference;

/// <summary>ONNX Runtime graph optimization levels (values match GraphOptimizationLevel in the C API).</summary>
public enum GraphOptimization
{
    None = 0,
    Basic = 1,
    Extended = 2,
    Layout = 3,
    All = 99,
}

/// <summary>
/// How a session is created. Defaults suit serverless: threads sized to the CPUs the container grants,
/// no idle spinning (spinning burns billed CPU between requests), full graph optimization.
/// </summary>
public sealed record SessionSettings
{
    /// <summary>Intra-op threads; null means <see cref="Environment.ProcessorCount"/>, which .NET derives from the container's CPU quota.</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Inter-op threads (only used by parallel execution); null leaves ORT's default.</summary>
    public int? InterOpThreads { get; init; }

    public GraphOptimization Optimization { get; init; } = GraphOptimization.All;

    /// <summary>Lets ORT's worker threads spin while idle. Off by default: idle spinning is billed on serverless.</summary>
    public bool AllowSpinning { get; init; }

    /// <summary>Uses ORT's CPU memory arena (faster repeated runs, more resident memory).</summary>
    public bool EnableMemoryArena { get; init; } = true;

    /// <summary>Try the CUDA execution provider first (GPU server); falls back to CPU with a warning when absent.</summary>
    public bool PreferCuda { get; init; }

    /// <summary>Where ORT writes the optimized model, for inspection (tests of quantized graphs); null for none.</summary>
    public string? OptimizedModelPath { get; init; }

    public int EffectiveIntraOpThreads => IntraOpThreads is > 0 ? IntraOpThreads.Value : Environment.ProcessorCount;

    public static SessionSettings Default { get; } = new();
}
