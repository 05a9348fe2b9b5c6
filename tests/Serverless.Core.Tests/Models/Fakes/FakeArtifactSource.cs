using Serverless.Core.Errors;
using Serverless.Core.Models;
using Serverless.Core.Storage;

namespace Serverless.Core.Tests.Models.Fakes;

/// <summary>An artifact source that counts calls, can hold every call at a gate, and can fail on demand.</summary>
internal sealed class FakeArtifactSource : IModelArtifactSource
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>When set, every call waits for it (simulating a slow download).</summary>
    public TaskCompletionSource? Gate { get; set; }

    public Func<string, Exception?> FailWith { get; set; } = _ => null;

    public async Task<VerifiedArtifact> GetAsync(ModelManifest manifest, ModelVersionManifest version, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (Gate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (FailWith(manifest.Name) is { } error)
        {
            throw error;
        }

        return new VerifiedArtifact($"/fake/{manifest.Name}/{version.Version}.onnx", version.Size, version.Sha256, Downloaded: true, 1);
    }

    /// <summary>How many times the registry asked to forget a local copy.</summary>
    public int Evictions { get; private set; }

    /// <summary>What <see cref="Evict"/> answers: whether there is a copy that a new fetch replaces.</summary>
    public bool CanEvict { get; set; } = true;

    public bool Evict(ModelManifest manifest, ModelVersionManifest version)
    {
        Evictions++;
        return CanEvict;
    }

    public static InferenceException StoreDown(string model) =>
        new(ErrorCode.StorageUnavailable, $"store unreachable while loading {model}") { Model = model };
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class FakeTimeProvider : TimeProvider
{
    private DateTimeOffset _now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

internal static class TestManifests
{
    public static ModelManifest Create(string name, long size = 1000) => new()
    {
        Name = name,
        DefaultVersion = "1",
        Versions =
        [
            new ModelVersionManifest
            {
                Version = "1",
                Artifact = $"{name}/1/model.onnx",
                Sha256 = new string('a', 64),
                Size = size,
            },
        ],
    };
}
