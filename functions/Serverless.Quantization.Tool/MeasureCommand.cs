using System.CommandLine;

namespace Serverless.Quantization.Tool;

internal static class MeasureCommand
{
    public static Command Create() => new("measure", "internal") { Hidden = true };
}
