using Hermod.Cli;

return await HermodCli.RunAsync(args);
