using System.CommandLine;
using Serverless.Quantization.Quantization;

namespace Serverless.Quantization.Tool;

/// <summary>`quantize-models --store DIR --calibration DIR [--models a,b]`: builds every int8 artifact from its fp32 version 1 with the model's recipe.</summary>
internal static class QuantizeModelsCommand
{
    public static Command Create()
    {
        var store = new Option<string>("--store") { Description = "The model store (.cache/store): reads NAME/1/model.onnx, writes NAME/2/model.onnx.", Required = true };
        var calibration = new Option<string>("--calibration") { Description = "The calibration set (OUTDIR/calibration from generate.sh).", Required = true };
        var models = new Option<string?>("--models") { Description = "Comma-separated model names (default: all with a recipe)." };
        var command = new Command("quantize-models", "Build the int8 artifacts of the product's models.") { store, calibration, models, QuantizeCommand.PerturbOption };
        command.SetAction(parse =>
        {
            var names = parse.GetValue(models)?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? Recipe.All.Select(r => r.Name).ToArray();
            foreach (var name in names)
            {
                var recipe = Recipe.Find(name);
                var root = parse.GetValue(store)!;
                var options = recipe.Options with { CalibrationPerturbation = parse.GetValue(QuantizeCommand.PerturbOption) };
                QuantizeCommand.Run(Path.Combine(root, name, "1", "model.onnx"), Path.Combine(root, name, "2", "model.onnx"), options, parse.GetValue(calibration), name, recipe.Samples);
            }

            return 0;
        });
        return command;
    }
}
