using Amazon.CDK;
using Serverless.Infra.Configuration;
using Serverless.Infra.Stacks;
using Serverless.Infra.Tests.Fixtures;

namespace Serverless.Infra.Tests.Stacks;

public sealed class StackErrorTests : IDisposable
{
    private readonly TestWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void HeavyModel_WithoutAGpuDockerfile_FailsNamingTheModelAndTheFix()
    {
        _workspace.AddModel("light", 256).AddModel("huge", 256, gpu: true);
        var context = _workspace.Context();
        context["gpuDockerfile"] = "missing/Dockerfile";
        var app = new App(new AppProps { Context = context, Outdir = Path.Combine(_workspace.Root, "out") });

        var error = Assert.Throws<InfraConfigException>(() => ServerlessStack.Create(app, _workspace.Root));

        Assert.Contains("huge", error.Message);
        Assert.Contains("missing/Dockerfile", error.Message);
        Assert.Contains("gpuImageContext", error.Message);
    }

    [Fact]
    public void MissingLambdaPackage_FailsBeforeAnyResourceIsDefined()
    {
        _workspace.AddModel("light", 256);
        var context = _workspace.Context();
        context["lambdaPackages"] = Path.Combine(_workspace.Root, "artifacts", "lambda");
        var app = new App(new AppProps { Context = context, Outdir = Path.Combine(_workspace.Root, "out") });

        var error = Assert.Throws<InfraConfigException>(() => ServerlessStack.Create(app, _workspace.Root));

        Assert.Contains("./build.sh package", error.Message);
        Assert.Empty(app.Node.Children);
    }

    [Fact]
    public void ArchitectureForAModelThatNoLambdaServes_FailsNamingItAndTheLambdaModels()
    {
        _workspace.AddModel("light", 256).AddModel("huge", 256, gpu: true);
        var context = _workspace.Context();
        context["lambdaArchitectures"] = "ligth=x86_64";
        var app = new App(new AppProps { Context = context, Outdir = Path.Combine(_workspace.Root, "out") });

        var error = Assert.Throws<InfraConfigException>(() => ServerlessStack.Create(app, _workspace.Root));

        Assert.Contains("'ligth'", error.Message);
        Assert.Contains("Lambda models: light", error.Message);
        Assert.Empty(app.Node.Children);
    }
}
