*** Comments ***
The Nano 33 BLE Sense microphone build in Renode: its PDM microphone plays TTS keywords
(sysbus.pdm SetInputFile); the host takes the detections off UART0 through a server socket
terminal and diffs them, event by event, against the host reference pipeline on the same
audio (kws device listen --compare). Run in hosted CI (.github/workflows/renode.yml) after
`make setup` and `make -C firmware boards`; checked statically by tests/test_renode_files.py.

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
${ELF}            ${ROOT}/build/boards/nrf52840/kws_mic.elf
${WAV}            ${ROOT}/build/renode/keywords.wav
${PCM}            ${ROOT}/build/renode/keywords.pcm
${PORT}           3456

*** Test Cases ***
Microphone Detections Equal The Host Reference
    ${say}=    Run Process    ${KWS}    data    say    yes    stop    left    --out    ${WAV}    --pcm    ${PCM}
    ...    --block    1280    cwd=${ROOT}
    Should Be Equal As Integers    ${say.rc}    0    ${say.stderr}
    Execute Command    $bin=@${ELF}
    Execute Command    $audio=@${PCM}
    Execute Command    $port=${PORT}
    Execute Script     ${CURDIR}/nano33ble.resc
    Start Emulation
    ${r}=    Run Process    ${KWS}    device    listen    --port    socket://127.0.0.1:${PORT}    --compare    ${WAV}
    ...    --seconds    300    cwd=${ROOT}    timeout=400s
    Log    ${r.stdout}
    Should Be Equal As Integers    ${r.rc}    0    ${r.stdout}${r.stderr}
    Should Contain    ${r.stdout}    device equal
    Should Contain    ${r.stdout}    audio overruns 0
