using System.Runtime.CompilerServices;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Onnx;

internal static class OrtTestEnvironment
{
    /// <summary>
    /// Points the binding at the repository's ONNX Runtime when the caller did not (build.sh does): the test output
    /// folder is outside the repository, so the npm walk-up would not find node_modules from there.
    /// </summary>
#pragma warning disable CA2255 // A test assembly is the entry point here, not a library.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void UseRepositoryRuntime()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SERVERLESS_ORT_LIBRARY")))
        {
            Environment.SetEnvironmentVariable("SERVERLESS_ORT_LIBRARY", RepoPaths.OrtLibrary);
        }
    }
}
