using System.CommandLine;
using Serverless.Quantization.Tool;

var root = new RootCommand("Int8 quantization of ONNX models (no Python needed).");
root.Subcommands.Add(QuantizeCommand.Create());
root.Subcommands.Add(QuantizeModelsCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(ReportCommand.Create());
root.Subcommands.Add(MeasureCommand.Create());
root.Subcommands.Add(LatencyCommand.Create());
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(CheckCommand.Create());
return root.Parse(args).Invoke();
