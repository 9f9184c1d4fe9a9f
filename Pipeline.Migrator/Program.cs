using Microsoft.Extensions.Hosting;
using Pipeline.Migrator;

// Runs once before any service touches the database: applies pending scripts, then exits.
// Exit code 0 means the schema is current; anything else keeps the services that wait on
// the migrator from starting.
var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
using var host = builder.Build();

return await MigrationRun.ExecuteAsync(host.Services, builder.Configuration);
