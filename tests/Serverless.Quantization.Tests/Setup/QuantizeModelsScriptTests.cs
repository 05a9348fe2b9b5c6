using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Storage;
using Serverless.Quantization.Onnx;
using Serverless.Tests.Shared;

namespace Serverless.Quantization.Tests.Setup;

/// <summary>
/// Setup's int8 step (scripts/quantize-models.sh) as another machine runs it. A calibrated recipe (text-direction's
/// static int8) is listed as version 2 with a reference hash built here; then calibration activations are perturbed as
/// another CPU's float kernels would perturb them (QUANTIZE_PERTURB_CALIBRATION), and the real script, quantizer and
/// accuracy check run against a store of their own.
/// </summary>
public sealed class QuantizeModelsScriptTests : IClassFixture<QuantizeModelsScriptTests.ReferenceBuild>, IDisposable
{
    private const string Name = "text-direction";
    private readonly ReferenceBuild _reference;
    private readonly string _root = Directory.CreateTempSubdirectory("serverless-quantize-script-").FullName;

    public QuantizeModelsScriptTests(ReferenceBuild reference)
    {
        _reference = reference;
        Directory.CreateDirectory(Path.Combine(Store, Name, "1"));
        File.Copy(RepoPaths.ModelFile(Name), Path.Combine(Store, Name, "1", "model.onnx"));
        Directory.CreateDirectory(Path.Combine(Manifests, Name));
        File.WriteAllText(Path.Combine(Manifests, Name, "model.json"), reference.ManifestJson);
        File.Copy(Path.Combine(Manifests, Name, "model.json"), Path.Combine(Store, Name, "model.json"));
    }

    private string Store => Path.Combine(_root, "store");

    private string Manifests => Path.Combine(_root, "manifests");

    private string Int8 => Path.Combine(Store, Name, "2", "model.onnx");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Setup_WithCalibrationPerturbedInTheLastBits_BuildsTheReferenceBytes()
    {
        var run = RunScript(perturbation: "0.00000095"); // 2^-20: the last bits of a float

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("the reference build)", run.Output);
        Assert.DoesNotContain("differs", run.Output);
        Assert.Equal(_reference.Sha256, Sha256(Int8));
        var version = StoreManifestVersion2();
        Assert.Equal(_reference.Sha256, (string?)version["sha256"]);
        Assert.Null(version["source"]!["referenceSha256"]);
    }

    [Fact]
    public async Task Setup_WhenTheBuildDiffersFromTheReference_AcceptsItByItsAccuracyBarAndServingAndPublishingUseTheActualHash()
    {
        var run = RunScript(perturbation: "0.05");

        Assert.True(run.ExitCode == 0, run.Output);
        var actual = Sha256(Int8);
        Assert.NotEqual(_reference.Sha256, actual);
        Assert.Contains("differs from the reference build", run.Output);
        Assert.Contains("Why: The calibration data is identical to the reference's", run.Output);
        Assert.Contains("top-1 agreement", run.Output); // the accuracy bar was checked, not skipped
        Assert.Contains("meets the bar", run.Output);

        var version = StoreManifestVersion2();
        Assert.Equal(actual, (string?)version["sha256"]);
        Assert.Equal(new FileInfo(Int8).Length, (long)version["size"]!);
        Assert.Equal(_reference.Sha256, (string?)version["source"]!["referenceSha256"]);
        Assert.Contains("Accepted by its accuracy bar: top-1 agreement", (string?)version["source"]!["localBuild"]);

        // Serving verifies against the store's manifest (the actual hash), and would refuse the bytes under the reference's.
        var local = ModelCatalog.LoadFromFolder(Store).Single();
        var cache = new VerifiedModelCache(new LocalObjectStore(Store), Path.Combine(_root, "cache"));
        var verified = await cache.GetAsync(local, local.FindVersion("2")!, default);
        Assert.Equal(actual, Sha256(verified.Path));
        var reference = ModelCatalog.LoadFromFolder(Manifests).Single();
        var refused = await Assert.ThrowsAsync<InferenceException>(() => new VerifiedModelCache(new LocalObjectStore(Store), Path.Combine(_root, "cache2")).GetAsync(reference, reference.FindVersion("2")!, default));
        Assert.Equal(ErrorCode.IntegrityFailure, refused.Code);

        // Publishing carries the actual hash too.
        var destination = new LocalObjectStore(Path.Combine(_root, "published"));
        await new ModelPublisher(new LocalObjectStore(Store), destination).PublishAsync([local]);
        var published = Assert.Single(await ModelCatalog.LoadFromStoreAsync(destination, default));
        Assert.Equal(actual, published.FindVersion("2")!.Sha256);
        Assert.Equal(_reference.Sha256, published.FindVersion("2")!.Source!.ReferenceSha256);

        // The next setup keeps the accepted build without rebuilding or re-checking it.
        var written = File.GetLastWriteTimeUtc(Int8);
        var again = RunScript(perturbation: null);
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("built here, accepted by its accuracy bar", again.Output);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Int8));
        Assert.Equal(actual, (string?)StoreManifestVersion2()["sha256"]);
    }

    [Fact]
    public void Setup_WhenTheBuildMissesItsAccuracyBar_StopsAndLeavesTheStoreAsItWas()
    {
        // A quantizer that writes a model whose probabilities come out negated (its top class becomes the other one): a
        // narrow stand-in for a build gone wrong; everything else (the script, the accuracy check) is real.
        var wrong = Path.Combine(_root, "wrong.onnx");
        var model = OnnxModelFile.Load(RepoPaths.ModelFile(Name));
        var output = model.Graph.Output[0].Name;
        foreach (var node in model.Graph.Node)
        {
            for (var i = 0; i < node.Output.Count; i++)
            {
                node.Output[i] = node.Output[i] == output ? output + "_kept" : node.Output[i];
            }
        }

        model.Graph.Node.Add(Serverless.Quantization.Graph.GraphEdits.Node("Neg", "sabotage", [output + "_kept"], [output]));
        OnnxModelFile.Save(model, wrong);
        var tool = Path.Combine(_root, "quantize-tool.sh");
        File.WriteAllText(tool, $"#!/usr/bin/env bash\nset -e\n\"{ReferenceBuild.Tool}\" \"$@\"\nif [ \"$1\" = quantize-models ]; then cp \"{wrong}\" \"{Int8}\"; fi\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tool, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var run = RunScript(perturbation: null, tool: tool);

        Assert.True(run.ExitCode == 1, run.Output);
        Assert.Contains("misses the bar", run.Output);
        Assert.Contains("not served", run.Output);
        Assert.False(File.Exists(Int8));
        Assert.True(File.Exists(Int8 + ".rejected"));
        Assert.Equal(_reference.Sha256, (string?)StoreManifestVersion2()["sha256"]);
    }

    private JsonNode StoreManifestVersion2() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Store, Name, "model.json")))!["versions"]!.AsArray().Single(v => (string?)v!["version"] == "2")!;

    private (int ExitCode, string Output) RunScript(string? perturbation, string? tool = null)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(RepoPaths.Root, "scripts", "quantize-models.sh"));
        start.ArgumentList.Add(Store);
        start.Environment["MANIFESTS"] = Manifests;
        start.Environment["QUANTIZE_TOOL"] = tool ?? ReferenceBuild.Tool;
        start.Environment["CALIBRATION_DIR"] = ReferenceBuild.Data;
        start.Environment["SERVERLESS_ORT_LIBRARY"] = RepoPaths.OrtLibrary;
        start.Environment["QUANTIZE_PERTURB_CALIBRATION"] = perturbation;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("scripts/quantize-models.sh ran for more than 5 minutes.");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>text-direction's static int8 built once, unperturbed, and a manifest listing it as the reference version 2.</summary>
    public sealed class ReferenceBuild : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("serverless-quantize-reference-").FullName;

        public ReferenceBuild()
        {
            if (!File.Exists(Tool) || !Directory.Exists(Path.Combine(Data, "evaluation")))
            {
                throw new InvalidOperationException($"Run ./build.sh setup first: it builds {Tool} and renders the calibration data into {Data}.");
            }

            Directory.CreateDirectory(Path.Combine(_dir, Name, "1"));
            File.Copy(RepoPaths.ModelFile(Name), Path.Combine(_dir, Name, "1", "model.onnx"));
            var start = new ProcessStartInfo(Tool, ["quantize-models", "--store", _dir, "--calibration", Path.Combine(Data, "calibration"), "--models", Name]) { RedirectStandardError = true, UseShellExecute = false };
            start.Environment["SERVERLESS_ORT_LIBRARY"] = RepoPaths.OrtLibrary;
            using var process = Process.Start(start)!;
            var log = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, log);
            var int8 = Path.Combine(_dir, Name, "2", "model.onnx");
            Sha256 = QuantizeModelsScriptTests.Sha256(int8);
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.CheckedInManifests, Name, "model.json")))!;
            manifest["versions"]!.AsArray().Add(new JsonObject
            {
                ["version"] = "2",
                ["artifact"] = $"{Name}/2/model.onnx",
                ["sha256"] = Sha256,
                ["size"] = new FileInfo(int8).Length,
                ["precision"] = "int8",
                ["source"] = new JsonObject { ["derivedFrom"] = "version 1 (recipe: quantize --mode static --method minmax --preset text-direction --samples 48 --calibration scripts/calibration/generate.sh:calibration)" },
            });
            ManifestJson = manifest.ToJsonString();
        }

        public static string Tool => Path.Combine(RepoPaths.Root, "functions", "Serverless.Quantization.Tool", "bin", "Release", "net10.0", "serverless-quantize");

        public static string Data => Path.Combine(RepoPaths.Root, ".cache", "calibration");

        public string Sha256 { get; }

        public string ManifestJson { get; }

        public void Dispose() => Directory.Delete(_dir, recursive: true);
    }
}
