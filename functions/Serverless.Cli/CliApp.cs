namespace Serverless.Cli;

/// <summary>Builds the System.CommandLine tree. Placeholder until the serve/infer/models commands land.</summary>
internal static class CliApp
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine($"serverless: command '{string.Join(' ', args)}' is not implemented yet");
        return Task.FromResult(2);
    }
}
