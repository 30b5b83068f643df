"""The request bodies of Judge0 CE's submissions API, with its field names and units: seconds
for times, KB for memory and file sizes. Unknown fields are ignored, as Judge0 does."""

from pydantic import BaseModel, ConfigDict, Field

# Judge0's own bounds (its Config defaults) on the fields it takes and this service ignores.
MAX_CPU_EXTRA_TIME_S = 5.0
STACK_LIMIT_KB = 64000
MAX_STACK_LIMIT_KB = 128000
MAX_BATCH_SIZE = 20
MAX_ARGUMENTS_CHARS = 512


class Judge0Submission(BaseModel):
    """One submission. Text fields are base64 when the request has ``?base64_encoded=true``.
    Limits left out take this service's defaults (shown by /config_info)."""

    model_config = ConfigDict(extra="ignore")

    source_code: str | None = None
    language_id: int | None = None
    compiler_options: str | None = None
    command_line_arguments: str | None = None
    number_of_runs: int | None = None
    stdin: str | None = None
    expected_output: str | None = None
    cpu_time_limit: float | None = Field(None, description="CPU time, s")
    cpu_extra_time: float | None = Field(None, description="accepted, not applied, s")
    wall_time_limit: float | None = Field(None, description="real time, s")
    memory_limit: float | None = Field(None, description="peak memory, KB")
    stack_limit: int | None = Field(None, description="accepted, not applied, KB")
    max_processes_and_or_threads: int | None = None
    enable_per_process_and_thread_time_limit: bool | None = None
    enable_per_process_and_thread_memory_limit: bool | None = None
    max_file_size: int | None = Field(None, description="largest file written, KB")
    redirect_stderr_to_stdout: bool | None = None
    callback_url: str | None = None
    additional_files: str | None = None
    enable_network: bool | None = None


class Judge0Batch(BaseModel):
    """``POST /submissions/batch``: each item validated on its own."""

    model_config = ConfigDict(extra="ignore")

    submissions: list[dict[str, object]] = Field(default_factory=list)
