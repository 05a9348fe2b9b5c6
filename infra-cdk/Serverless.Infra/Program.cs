using Amazon.CDK;
using Serverless.Infra.Configuration;
using Serverless.Infra.Stacks;

// cdk.json runs this from infra-cdk/, so relative context paths (../models, ../artifacts/...) resolve there.
var app = new App();
try
{
    ServerlessStack.Create(app, Directory.GetCurrentDirectory());
}
catch (InfraConfigException e)
{
    await Console.Error.WriteLineAsync("Configuration error: " + e.Message).ConfigureAwait(false);
    return 1;
}

app.Synth();
return 0;
