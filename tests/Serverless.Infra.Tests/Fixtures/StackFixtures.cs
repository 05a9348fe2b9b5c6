namespace Serverless.Infra.Tests.Fixtures;

/// <summary>
/// Two light models and one heavy (gpu: true) model, default context: IAM auth, canary on, S3-managed
/// encryption. Model sizes are chosen to exercise the sizing rules (the small one gets the 512 MB /tmp floor).
/// </summary>
public sealed class MixedModelsFixture : IDisposable
{
    public const string Small = "alpha-small";
    public const string Large = "beta-large";
    public const string Heavy = "gamma-gpu";

    /// <summary>1.5 GiB artifact: /tmp = 2 x 1536 + 256 headroom = 3328 MB.</summary>
    public const long LargeArtifactBytes = 1536L * 1024 * 1024;

    public MixedModelsFixture()
    {
        Workspace = new TestWorkspace()
            .AddModel(Small, memoryMb: 256)
            .AddModel(Large, memoryMb: 3008, size: LargeArtifactBytes)
            .AddModel(Heavy, memoryMb: 16_384, gpu: true);
        Synth = SynthesizedStack.Synthesize(Workspace, Workspace.Context());
    }

    public TestWorkspace Workspace { get; }

    public SynthesizedStack Synth { get; }

    public void Dispose()
    {
        Synth.Dispose();
        Workspace.Dispose();
    }
}

/// <summary>
/// Only light models, with the non-default choices: JWT auth, canary off, KMS-encrypted model bucket,
/// preload on, a custom stage, and x86_64 for one model.
/// </summary>
public sealed class LightOnlyJwtFixture : IDisposable
{
    public const string Issuer = "https://login.example.com/";

    public LightOnlyJwtFixture()
    {
        Workspace = new TestWorkspace()
            .AddModel("direction", memoryMb: 256)
            .AddModel("recognition", memoryMb: 1024);
        var context = Workspace.Context();
        context["stage"] = "dev";
        context["apiAuth"] = "jwt";
        context["jwtIssuer"] = Issuer;
        context["jwtAudience"] = "inference-api, batch-tools";
        context["canary"] = "false";
        context["preload"] = true;
        context["modelBucketEncryption"] = "kms";
        context["lambdaArchitectures"] = "recognition=x86_64";
        Synth = SynthesizedStack.Synthesize(Workspace, context);
    }

    public TestWorkspace Workspace { get; }

    public SynthesizedStack Synth { get; }

    public void Dispose()
    {
        Synth.Dispose();
        Workspace.Dispose();
    }
}

/// <summary>Shares one mixed-models synthesis across every test class that asks for it.</summary>
[CollectionDefinition(Name)]
public sealed class MixedStackCollection : ICollectionFixture<MixedModelsFixture>
{
    public const string Name = "Mixed models stack";
}

/// <summary>Shares one light-only JWT synthesis across every test class that asks for it.</summary>
[CollectionDefinition(Name)]
public sealed class LightJwtStackCollection : ICollectionFixture<LightOnlyJwtFixture>
{
    public const string Name = "Light-only JWT stack";
}
