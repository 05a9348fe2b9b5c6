// Entry point of the local CLI; commands are wired in CliApp.
Serverless.Cli.Hosting.StartupTrace.Mark("main entered");
return await Serverless.Cli.CliApp.RunAsync(args);
