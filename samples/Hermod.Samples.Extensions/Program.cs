using Hermod.Delivery;
using Hermod.Hosting.Cli;
using Hermod.Policy;
using Hermod.Samples.Extensions;

// The hermod command line (serve, check-config, queue, ...) with four more components that configuration can name.
return await HermodCli.RunAsync(args, services => services
    .AddCheck<SubjectKeywordCheck>("subject_keyword")
    .AddModifier<TagSubjectModifier>("tag_subject")
    .AddTarget<JsonLinesTarget>("jsonl")
    .AddStreamProcessor<BodyStatsProcessor>("body_stats"));
