// Entry point of the local CLI; commands are wired in CliApp.
return await Serverless.Cli.CliApp.RunAsync(args);
