using System.IO.Compression;
using System.Text.Json;

namespace Serverless.Infra.Tests.Fixtures;

/// <summary>
/// A throwaway folder holding what the CDK app reads from disk: model manifests, a tiny model store, a
/// bootstrap zip per architecture and a GPU image context with a Dockerfile. Deleted on dispose.
/// </summary>
public sealed class TestWorkspace : IDisposable
{
    public TestWorkspace()
    {
        Root = Directory.CreateTempSubdirectory("serverless-infra-").FullName;
        Directory.CreateDirectory(ModelsDirectory);
        Directory.CreateDirectory(StoreDirectory);
        Directory.CreateDirectory(Path.Combine(GpuContext, "gpu"));
        File.WriteAllText(Path.Combine(GpuContext, "gpu", "Dockerfile"), "FROM scratch\n");

        Directory.CreateDirectory(LambdaPackages);
        foreach (var architecture in new[] { "arm64", "x86_64" })
        {
            // Different bytes per architecture, so each zip is its own asset.
            var staging = Path.Combine(Root, "package-" + architecture);
            Directory.CreateDirectory(staging);
            File.WriteAllText(Path.Combine(staging, "bootstrap"), $"#!/bin/sh\necho test bootstrap for {architecture}\n");
            ZipFile.CreateFromDirectory(staging, Path.Combine(LambdaPackages, $"bootstrap-{architecture}.zip"));
        }
    }

    public string Root { get; }

    public string ModelsDirectory => Path.Combine(Root, "models");

    public string StoreDirectory => Path.Combine(Root, "store");

    /// <summary>Holds bootstrap-arm64.zip and bootstrap-x86_64.zip, like artifacts/lambda after ./build.sh package.</summary>
    public string LambdaPackages => Path.Combine(Root, "lambda");

    public string GpuContext => Path.Combine(Root, "gpu-context");

    public string GpuDockerfile => "gpu/Dockerfile";

    /// <summary>Writes models/&lt;name&gt;/model.json and a small placeholder artifact in the store.</summary>
    public TestWorkspace AddModel(string name, int memoryMb, bool gpu = false, long size = 4096)
    {
        var manifest = new Dictionary<string, object>
        {
            ["name"] = name,
            ["defaultVersion"] = "1",
            ["versions"] = new[]
            {
                new Dictionary<string, object>
                {
                    ["version"] = "1",
                    ["artifact"] = $"{name}/1/model.onnx",
                    ["sha256"] = new string('0', 64),
                    ["size"] = size,
                    ["precision"] = "fp32",
                },
            },
            ["memoryMb"] = memoryMb,
            ["gpu"] = gpu,
            ["maxBatchSize"] = 8,
        };
        Directory.CreateDirectory(Path.Combine(ModelsDirectory, name));
        File.WriteAllText(Path.Combine(ModelsDirectory, name, "model.json"), JsonSerializer.Serialize(manifest));
        Directory.CreateDirectory(Path.Combine(StoreDirectory, name, "1"));
        File.WriteAllBytes(Path.Combine(StoreDirectory, name, "1", "model.onnx"), new byte[64]);
        return this;
    }

    /// <summary>Context that points every path at this workspace; tests add or override keys.</summary>
    public Dictionary<string, object> Context() => new()
    {
        ["models"] = ModelsDirectory,
        ["modelStore"] = StoreDirectory,
        ["lambdaPackages"] = LambdaPackages,
        ["gpuImageContext"] = GpuContext,
        ["gpuDockerfile"] = GpuDockerfile,
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
