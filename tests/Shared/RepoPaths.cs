using System.Reflection;

namespace Serverless.Tests.Shared;

/// <summary>Paths inside the repository, found from build metadata so they hold wherever the tests were built.</summary>
internal static class RepoPaths
{
    public static string Root { get; } =
        typeof(RepoPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .First(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>
    /// The manifests serving reads: the local store's copies of models/*/model.json, which carry the actual hash of each
    /// int8 artifact setup built on this machine (./build.sh exports the same folder as SERVERLESS_MODELS_DIR).
    /// </summary>
    public static string Models => ModelStore;

    /// <summary>The checked-in manifests (models/), whose int8 hashes are the recorded reference builds.</summary>
    public static string CheckedInManifests => Path.Combine(Root, "models");

    /// <summary>The verified local model store that setup fills (./build.sh setup).</summary>
    public static string ModelStore => Path.Combine(Root, ".cache", "store");

    public static string NodeModules => Path.Combine(Root, "node_modules");

    /// <summary>The linux-x64 ONNX Runtime from the Microsoft.ML.OnnxRuntime package, copied into every build that references Serverless.Core.</summary>
    public static string OrtLibrary => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime.so");

    /// <summary>Path of a model's fp32 artifact in the local store, e.g. ModelFile("text-direction").</summary>
    public static string ModelFile(string name, string version = "1") => Path.Combine(ModelStore, name, version, "model.onnx");
}
