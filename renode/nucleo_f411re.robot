*** Comments ***
The NUCLEO-F411RE serial-audio build in Renode: the host streams a TTS keyword recording over
USART2 (server socket terminal) with the serial protocol and diffs every window's scores and
every event against the host reference (kws device eval: zero differences expected). Run in
hosted CI (.github/workflows/renode.yml); checked statically by tests/test_renode_files.py.

*** Settings ***
Library           Process
Suite Setup       Setup
Suite Teardown    Teardown
Test Setup        Reset Emulation
Test Teardown     Test Teardown
Resource          ${RENODEKEYWORDS}

*** Variables ***
${ROOT}           ${CURDIR}/..
${KWS}            ${ROOT}/.venv/bin/kws
${ELF}            ${ROOT}/build/boards/stm32f4/kws_serial.elf
${WAV}            ${ROOT}/build/renode/keywords_nucleo.wav
${PORT}           3457

*** Test Cases ***
Streamed Audio Gives The Host Reference Windows And Events
    ${say}=    Run Process    ${KWS}    data    say    no    go    right    --out    ${WAV}    cwd=${ROOT}
    Should Be Equal As Integers    ${say.rc}    0    ${say.stderr}
    Execute Command    $bin=@${ELF}
    Execute Command    $port=${PORT}
    Execute Script     ${CURDIR}/nucleo_f411re.resc
    Start Emulation
    ${r}=    Run Process    ${KWS}    device    eval    ${WAV}    --port    socket://127.0.0.1:${PORT}
    ...    cwd=${ROOT}    timeout=600s
    Log    ${r.stdout}
    Should Be Equal As Integers    ${r.rc}    0    ${r.stdout}${r.stderr}
    Should Contain    ${r.stdout}    0 differ
