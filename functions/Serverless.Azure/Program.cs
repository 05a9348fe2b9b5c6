// Entry point of the Azure Functions app (.NET isolated worker with ASP.NET Core integration). The Functions
// host starts this process and drives it over gRPC; HTTP requests reach it through the worker's own Kestrel.
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Serverless.Azure.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddServerlessAzure(AzureEnvironment.System);
await builder.Build().RunAsync().ConfigureAwait(false);
