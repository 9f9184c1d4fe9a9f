using System.CommandLine;
using Pipeline.LoadGenerator;

// Posts generated events to the Pipeline API, shows progress, prints a summary, and with
// --verify checks every aggregate the API then serves against what it accepted.
var command = LoadCommand.Create(Console.Out, Console.Error, TimeProvider.System);
return await command.Parse(args).InvokeAsync();
