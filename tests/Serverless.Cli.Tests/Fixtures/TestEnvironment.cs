using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>Process environment the tests need: the ONNX Runtime library from node_modules.</summary>
internal static class TestEnvironment
{
    public const string OrtLibraryVariable = "SERVERLESS_ORT_LIBRARY";

    /// <summary>Points the binding at node_modules' ORT when the runner did not (build output lives outside the repo).</summary>
    public static void EnsureOrtLibrary()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(OrtLibraryVariable)))
        {
            Environment.SetEnvironmentVariable(OrtLibraryVariable, RepoPaths.OrtLibrary);
        }
    }
}
