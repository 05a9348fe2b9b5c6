// jsii talks to one node process over a single pipe; synthesizing from several threads at once is not safe.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
