using Hermod.Hosting.Cli;

return await HermodCli.RunAsync(args);
